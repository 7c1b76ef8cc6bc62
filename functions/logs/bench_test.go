package logs_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/envhub/envhub/infra/local"
	lt "github.com/envhub/envhub/infra/local/localtest"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
)

// BenchmarkLogsFollow times lines end to end through the SSE route (the
// local server streaming, as a Function URL does) and through the
// WebSocket API (a subscription's worker pushing to @connections) against
// a direct client-go follow of the same pod's log, rotating which goes first: lines per
// second from the first line written to the last one read, and each
// line's latency from its timestamp (when it was written) to its arrival.
func BenchmarkLogsFollow(b *testing.B) {
	f := setup(b, "lb")
	pod := f.pod(b, "lb")
	tok := f.e.Token(b, lt.Alice)
	n := 20000
	if s := os.Getenv("BENCH_LINES"); s != "" {
		fmt.Sscan(s, &n)
	}

	// A round writes n lines (in batches, as a busy container does) once
	// the reader is open, and reads until it has them all.
	round := func(open func(ctx context.Context) *bufio.Reader, parse func(string) (string, bool)) (float64, []time.Duration) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		mark := fmt.Sprintf("b%d", time.Now().UnixNano())
		// The stream follows from when the apiserver opened it: probe it
		// until a line comes through, then time the burst.
		probed := make(chan struct{})
		go func() {
			for {
				select {
				case <-probed:
					return
				case <-time.After(100 * time.Millisecond):
					writeLines(b, f.log, "probe-"+mark, 1)
				}
			}
		}()
		r := open(ctx) // a followed log answers once a line comes
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				b.Fatalf("stream ended before a probe came through: %v", err)
			}
			if strings.Contains(line, "probe-"+mark) {
				close(probed)
				break
			}
		}
		start := time.Now()
		go writeLines(b, f.log, mark, n)
		var lat []time.Duration
		for len(lat) < n {
			line, err := r.ReadString('\n')
			if err != nil {
				b.Fatalf("stream ended after %d lines: %v", len(lat), err)
			}
			at, ok := parse(strings.TrimSuffix(line, "\n"))
			if !ok || !strings.Contains(line, " "+mark+" ") {
				continue
			}
			if ts, err := time.Parse(time.RFC3339Nano, at); err == nil {
				lat = append(lat, time.Since(ts))
			}
		}
		return float64(n) / time.Since(start).Seconds(), lat
	}
	viaSSE := func(ctx context.Context) *bufio.Reader {
		req, _ := http.NewRequestWithContext(ctx, "GET", f.e.URL+"/openapi/logs/sse/pods/"+pod+"/containers/web?projectKey="+project+"&envName=lb&tails=0", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("open: %v %v", resp, err)
		}
		return bufio.NewReaderSize(resp.Body, 64<<10)
	}
	// The SSE id (before its data) is the line's cursor: its timestamp, then "/n".
	var lastID string
	sseLine := func(l string) (string, bool) {
		if id, ok := strings.CutPrefix(l, "id: "); ok {
			lastID, _, _ = strings.Cut(id, "/")
			return "", false
		}
		return lastID, strings.HasPrefix(l, "data: ")
	}
	cfg := *f.c.Config
	cfg.Timeout = 0 // a followed log outlives any request timeout
	follower, err := kubernetes.NewForConfig(&cfg)
	if err != nil {
		b.Fatal(err)
	}
	directly := func(ctx context.Context) *bufio.Reader {
		zero := int64(0)
		rc, err := follower.CoreV1().Pods(project+"-env-lb").GetLogs(pod, &corev1.PodLogOptions{Container: "web", Follow: true,
			Timestamps: true, TailLines: &zero}).Stream(ctx)
		if err != nil {
			b.Fatal(err)
		}
		return bufio.NewReaderSize(rc, 64<<10)
	}
	rawLine := func(l string) (string, bool) {
		at, _, ok := strings.Cut(l, " ")
		return at, ok
	}
	// The WebSocket API: a subscription to the pod, its worker pushing
	// through @connections; each line read as "<its time> <text>".
	viaWS := func(ctx context.Context) *bufio.Reader {
		ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(f.e.URL, "http")+"/"+local.Stage,
			&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
		if err != nil {
			b.Fatal(err)
		}
		ws.SetReadLimit(1 << 20)
		sub, _ := json.Marshal(map[string]any{"action": "subscribe", "projectKey": project, "envName": "lb", "pod": pod, "container": "web", "tails": 0})
		if err := ws.Write(ctx, websocket.MessageText, sub); err != nil {
			b.Fatal(err)
		}
		pr, pw := io.Pipe()
		go func() {
			defer ws.CloseNow()
			out := bufio.NewWriterSize(pw, 64<<10)
			for {
				_, data, err := ws.Read(ctx)
				if err != nil {
					pw.CloseWithError(err)
					return
				}
				var m wsMsg
				_ = json.Unmarshal(data, &m)
				if m.Dropped > 0 {
					b.Errorf("%d lines dropped", m.Dropped)
				}
				for _, l := range m.Lines {
					at, _, _ := strings.Cut(l.Cursor, "/")
					out.WriteString(at + " " + l.Text + "\n")
				}
				if out.Flush() != nil {
					return
				}
			}
		}()
		return bufio.NewReaderSize(pr, 64<<10)
	}
	sides := []struct {
		name  string
		open  func(context.Context) *bufio.Reader
		parse func(string) (string, bool)
	}{
		{"SSE route (local server, streamed)", viaSSE, sseLine},
		{"WebSocket API (worker, @connections)", viaWS, rawLine},
		{"client-go follow, directly", directly, rawLine},
	}
	rates := make([][]float64, len(sides))
	lats := make([][]time.Duration, len(sides))
	const rounds = 3
	for r := 0; r < rounds; r++ {
		for i := range sides { // each side goes first in turn
			k := (i + r) % len(sides)
			rate, lat := round(sides[k].open, sides[k].parse)
			rates[k], lats[k] = append(rates[k], rate), append(lats[k], lat...)
		}
	}
	pct := func(d []time.Duration, p int) time.Duration { return d[len(d)*p/100].Round(time.Microsecond) }
	fmt.Printf("\nLive log lines, %d a round, one container (kwok serving its log file), median of %d rounds\n", n, rounds)
	med := make([]float64, len(sides))
	for k, s := range sides {
		slices.Sort(rates[k])
		slices.Sort(lats[k])
		med[k] = rates[k][len(rates[k])/2]
		fmt.Printf("  %-38s %8.0f lines/s, latency p50 %v p99 %v\n", s.name+":", med[k], pct(lats[k], 50), pct(lats[k], 99))
	}
	direct := med[len(sides)-1]
	fmt.Printf("  ratio SSE/direct lines/s: %.2fx, WebSocket/direct: %.2fx (targets >= 0.8)\n\n", med[0]/direct, med[1]/direct)
	b.ReportMetric(med[0], "sse-lines/s")
	b.ReportMetric(med[1], "ws-lines/s")
	b.ReportMetric(direct, "direct-lines/s")
}

// writeLines appends n lines marked mark to the log file, in batches of
// 500, each line stamped with when it was written.
func writeLines(b *testing.B, file, mark string, n int) {
	out, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		b.Error(err)
		return
	}
	defer out.Close()
	var sb strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "%s stdout F line %d %s GET /api/v1/items?page=%d 200 12ms user-agent=bench\n", time.Now().UTC().Format(time.RFC3339Nano), i, mark, i)
		if i%500 == 499 || i == n-1 {
			if _, err := out.WriteString(sb.String()); err != nil {
				b.Error(err)
				return
			}
			sb.Reset()
			time.Sleep(5 * time.Millisecond)
		}
	}
}
