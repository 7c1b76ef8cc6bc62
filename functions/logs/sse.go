package logs

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/operation"
)

// Tails bound the lines a stream starts with.
const (
	DefaultTails = 100
	MaxTails     = 10000
)

// MaxBuffered bounds an answer that does not stream (a Lambda answer is at
// most 6 MB).
const MaxBuffered = 4 << 20

// MaxStreamed bounds one streamed answer (a Function URL streams at most 20 MB).
const MaxStreamed = 16 << 20

// writeTimeout is how long one write to a streamed answer may block: a
// client that stops reading is let go, and resumes by its last id.
const writeTimeout = 30 * time.Second

// KeepAlive is how often an idle SSE stream sends a comment, so proxies and
// clients do not take it for dead.
var KeepAlive = 15 * time.Second

// sse streams a container's log as server-sent events (spec: "View
// Container Real-Time Logs"): each line an event whose id is its cursor, so
// a client reconnecting with Last-Event-ID resumes exactly after it. Where
// the response streams (a writer that flushes: the local server, a Function
// URL in RESPONSE_STREAM mode) it follows the log; behind a buffering
// gateway (the HTTP API) it answers the last tails lines and ends.
func (h *Handler) sse(w http.ResponseWriter, r *http.Request) error {
	caller, q, err := operation.Request(r, nil, "envName", "tails")
	if err != nil {
		return err
	}
	tails, err := q.Int("tails", DefaultTails, 0, MaxTails)
	if err != nil {
		return err
	}
	var from cluster.Cursor
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		if from, err = cluster.ParseCursor("Last-Event-ID", id); err != nil {
			return err
		}
	}
	pkey, err := q.String("projectKey")
	if err != nil {
		return err
	}
	envKey, err := q.String("envName")
	if err != nil {
		return err
	}
	t, err := h.target(r.Context(), caller, pkey, envKey, r.PathValue("pod"), r.PathValue("container"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	flusher := http.NewResponseController(w)
	follow := flusher.Flush() == nil // a buffered answer cannot follow
	// A stream ends before its Lambda's deadline, and before a Function
	// URL's 20 MB response limit: the client resumes by its last id.
	ctx, cancel := context.WithCancel(r.Context())
	if d, ok := r.Context().Deadline(); ok {
		ctx, cancel = context.WithDeadline(r.Context(), d.Add(-2*time.Second))
	}
	defer cancel()
	written := 0
	lines := make(chan cluster.Line, 256)
	done := make(chan error, 1)
	go func() {
		s := cluster.LogStream{Pod: t.Pod, Container: t.Container, Follow: follow, Tail: int64(tails), From: from, Back: MaxTails}
		if !follow {
			s.LimitBytes = MaxBuffered
		}
		_, err := t.Cluster.ReadLogs(ctx, t.Env.Namespace, s, func(l cluster.Line) bool {
			select {
			case lines <- l: // a slow client slows the read: it resumes by its last id anyway
				return true
			case <-ctx.Done():
				return false
			}
		})
		done <- err
	}()
	idle := time.NewTicker(KeepAlive)
	defer idle.Stop()
	var b strings.Builder
	for {
		select {
		case l := <-lines:
			b.Reset()
			event(&b, l)
			for more := true; more; { // what is already read goes in one write
				select {
				case l := <-lines:
					event(&b, l)
				default:
					more = false
				}
			}
			_ = flusher.SetWriteDeadline(time.Now().Add(writeTimeout))
			if _, err := w.Write([]byte(b.String())); err != nil {
				return nil // the client went away, or stopped reading
			}
			if written += b.Len(); written > MaxStreamed {
				return nil
			}
			if follow {
				flusher.Flush()
			}
			idle.Reset(KeepAlive)
		case <-idle.C:
			_ = flusher.SetWriteDeadline(time.Now().Add(writeTimeout))
			if _, err := w.Write([]byte(": keep-alive\n\n")); err != nil {
				return nil
			}
			if follow {
				flusher.Flush()
			}
		case err := <-done:
			for drained := false; !drained; { // lines read before the end
				select {
				case l := <-lines:
					b.Reset()
					event(&b, l)
					_, _ = w.Write([]byte(b.String()))
				default:
					drained = true
				}
			}
			if err != nil && ctx.Err() == nil {
				// As the API's errors: a 5xx's details stay in the log.
				msg := err.Error()
				if status, _ := api.Status(err); status >= 500 {
					slog.ErrorContext(r.Context(), "log stream", "pod", t.Pod, "err", err)
					msg = "the log stream failed: try again"
				}
				fmt.Fprintf(w, "event: error\ndata: %s\n\n", oneLine(msg))
			}
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

// event writes one line as an SSE event: its cursor as id, its text as data.
func event(b *strings.Builder, l cluster.Line) {
	b.WriteString("id: ")
	b.WriteString(l.Cursor.String())
	b.WriteString("\ndata: ")
	b.WriteString(oneLine(l.Text))
	b.WriteString("\n\n")
}

// oneLine keeps a data field on one line (a CR would end it).
func oneLine(s string) string { return strings.NewReplacer("\r", "", "\n", " ").Replace(s) }
