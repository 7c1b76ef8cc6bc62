package cluster_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
)

// logFile appends lines to the file kwok serves every pod's log from
// (CRI format), at a time of the caller's choosing.
type logFile string

func (f logFile) write(t *testing.T, at time.Time, lines ...string) {
	t.Helper()
	out, err := os.OpenFile(string(f), os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(at.UTC().Format(time.RFC3339Nano) + " stdout F " + l + "\n")
	}
	if _, err := out.WriteString(b.String()); err != nil { // one append: no other writer's lines within
		t.Fatal(err)
	}
}

// read collects the lines of a (non-followed) stream that carry mark.
func read(t *testing.T, c *cluster.Cluster, ns string, s cluster.LogStream, mark string) ([]cluster.Line, cluster.Cursor) {
	t.Helper()
	var got []cluster.Line
	cur, err := c.ReadLogs(ctx(t), ns, s, func(l cluster.Line) bool {
		if strings.Contains(l.Text, mark) {
			got = append(got, l)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, cur
}

func texts(lines []cluster.Line) string {
	var out []string
	for _, l := range lines {
		out = append(out, strings.Fields(l.Text)[0])
	}
	return strings.Join(out, " ")
}

// kwok serves every pod's log from one CRI-format file, through the real
// kube-apiserver pods/log path: tail, a resume at a cursor (lines sharing a
// timestamp included) and follow.
func TestReadLogs(t *testing.T) {
	c, lc := connect(t)
	ns := namespace(t, c)
	if _, err := c.Apply(ctx(t), ns, []byte(app), nil); err != nil {
		t.Fatal(err)
	}
	pod := waitReady(t, c, ns, "web", 1).Pods[0].Name
	f := logFile(filepath.Join(lc.Dir, "pod.log"))
	// Other tests append to the same file meanwhile (real logs are in time
	// order, and so are theirs): a try their lines cut into is tried again.
	var mark string
	var end cluster.Cursor
	for try := 0; ; try++ {
		mark = fmt.Sprintf("m%d", time.Now().UnixNano())
		now := time.Now()
		f.write(t, now, "a "+mark, "b "+mark, "c "+mark) // one timestamp for three lines
		f.write(t, now.Add(time.Millisecond), "d "+mark)
		var all []cluster.Line
		all, end = read(t, c, ns, cluster.LogStream{Pod: pod, Container: "main", Tail: -1}, mark)
		if texts(all) != "a b c d" || all[1].Cursor != (cluster.Cursor{Time: all[0].Time, N: 2}) || end != all[3].Cursor {
			if try < 4 { // another test's line came after d
				continue
			}
			t.Fatalf("all: %s %v (end %s)", texts(all), all, end)
		}
		// Resumed after b (the second line of its timestamp): c and d, exactly.
		from, err := cluster.ParseCursor("id", all[1].Cursor.String())
		if err != nil || from != all[1].Cursor {
			t.Fatalf("cursor round trip: %v %v", from, err)
		}
		rest, _ := read(t, c, ns, cluster.LogStream{Pod: pod, Container: "main", From: from}, mark)
		if texts(rest) == "c d" && rest[0].Cursor.N == 3 {
			break
		}
		if try == 4 {
			t.Fatalf("after b: %s %v", texts(rest), rest)
		}
	}
	// The tail is the file's last lines: try again until it is this test's alone.
	for try := 0; ; try++ {
		tmark := fmt.Sprintf("t%d", time.Now().UnixNano())
		f.write(t, time.Now(), "e "+tmark, "f "+tmark)
		tail, _ := read(t, c, ns, cluster.LogStream{Pod: pod, Container: "main", Tail: 2}, tmark)
		// A tail starting inside a timestamp ranks its lines among all of
		// that timestamp: f is its second, so a resume after it skips e too.
		last, _ := read(t, c, ns, cluster.LogStream{Pod: pod, Container: "main", Tail: 1}, tmark)
		if texts(tail) == "e f" && texts(last) == "f" && last[0].Cursor.N == 2 {
			break
		}
		if try == 4 {
			t.Fatalf("tail 2: %s, tail 1: %v", texts(tail), last)
		}
	}
	// Followed: new lines arrive as written; emit returning false ends it.
	lines := make(chan cluster.Line, 10)
	done := make(chan error, 1)
	go func() {
		_, err := c.ReadLogs(ctx(t), ns, cluster.LogStream{Pod: pod, Container: "main", Follow: true, From: end}, func(l cluster.Line) bool {
			if !strings.Contains(l.Text, mark) {
				return true
			}
			lines <- l
			return !strings.HasPrefix(l.Text, "stop")
		})
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	f.write(t, time.Now(), "live "+mark, "stop "+mark)
	for _, want := range []string{"live", "stop"} {
		select {
		case l := <-lines:
			if !strings.HasPrefix(l.Text, want) {
				t.Fatalf("followed %q, want %s", l.Text, want)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("follow did not stream %s", want)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestParseCursor(t *testing.T) {
	for _, bad := range []string{"", "x/1", "2026-12-01T00:00:00Z", "2026-12-01T00:00:00Z/0", "2026-12-01T00:00:00Z/-1", "2026-12-01T00:00:00Z/a"} {
		if _, err := cluster.ParseCursor("Last-Event-ID", bad); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	c := cluster.Cursor{Time: time.Date(2026, 12, 1, 1, 2, 3, 456789, time.UTC), N: 7}
	if got, err := cluster.ParseCursor("id", c.String()); err != nil || got != c {
		t.Errorf("%s: %v %v", c, got, err)
	}
}
