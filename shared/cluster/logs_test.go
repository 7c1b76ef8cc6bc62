package cluster_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envhub/envhub/shared/cluster"
)

// kwok serves every pod's log from one CRI-format file, through the real
// kube-apiserver pods/log path (tail, since and follow included).
func TestLogs(t *testing.T) {
	c, lc := connect(t)
	ns := namespace(t, c)
	if _, err := c.Apply(ctx(t), ns, []byte(app), nil); err != nil {
		t.Fatal(err)
	}
	w := waitReady(t, c, ns, "web", 1)
	pod := w.Pods[0].Name
	logFile := filepath.Join(lc.Dir, "pod.log")
	writeAt := func(at time.Time, lines ...string) {
		f, err := os.OpenFile(logFile, os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, l := range lines {
			if _, err := f.WriteString(at.UTC().Format(time.RFC3339Nano) + " stdout F " + l + "\n"); err != nil {
				t.Fatal(err)
			}
		}
	}
	write := func(lines ...string) { writeAt(time.Now(), lines...) }
	writeAt(time.Now().Add(-time.Hour), "an hour ago")
	write("first", "second", "third")
	two := int64(2)
	rc, err := c.Logs(ctx(t), ns, pod, cluster.LogOptions{Container: "main", TailLines: &two})
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 4096)
	n, _ := readAll(rc, data)
	rc.Close()
	if got := string(data[:n]); !strings.HasSuffix(got, "second\nthird\n") || strings.Count(got, "\n") != 2 {
		t.Fatalf("tail 2: %q", got)
	}

	minute := int64(60)
	rc, err = c.Logs(ctx(t), ns, pod, cluster.LogOptions{Container: "main", SinceSeconds: &minute})
	if err != nil {
		t.Fatal(err)
	}
	n, _ = readAll(rc, data)
	rc.Close()
	if got := string(data[:n]); strings.Contains(got, "an hour ago") || !strings.Contains(got, "first\n") {
		t.Fatalf("since 60s: %q", got)
	}

	// A followed stream may not answer before its first line, so it is
	// opened in the background while lines are written.
	zero := int64(0)
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		rc, err := c.Logs(ctx(t), ns, pod, cluster.LogOptions{Container: "main", Follow: true, TailLines: &zero})
		if err != nil {
			lines <- "error: " + err.Error()
			return
		}
		defer rc.Close()
		sc := bufio.NewScanner(rc)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	deadline := time.After(30 * time.Second)
	for got := false; !got; {
		write("live one")
		select {
		case l := <-lines:
			if l != "live one" {
				t.Fatalf("followed %q", l)
			}
			got = true
		case <-time.After(time.Second):
		case <-deadline:
			t.Fatal("follow did not stream new lines")
		}
	}

	if _, err := c.Logs(ctx(t), ns, pod, cluster.LogOptions{TailLines: new(int64(-1))}); err == nil {
		t.Fatal("negative tail accepted")
	}
}

func readAll(rc interface{ Read([]byte) (int, error) }, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := rc.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
