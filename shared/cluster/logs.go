package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/envhub/envhub/shared/errs"
)

// Cursor is where a log stream is: the runtime's timestamp of the last line
// sent and how many lines at that timestamp were sent. A stream resumed at
// a cursor sends exactly the lines after it.
type Cursor struct {
	Time time.Time
	N    int
}

// IsZero tells a cursor that was never set (a stream from its tail).
func (c Cursor) IsZero() bool { return c.Time.IsZero() }

// String is the cursor as a token ("<RFC3339Nano>/<n>"): an SSE event id.
func (c Cursor) String() string {
	return c.Time.UTC().Format(time.RFC3339Nano) + "/" + strconv.Itoa(c.N)
}

// ParseCursor reads a cursor token; field names it in errors.
func ParseCursor(field, s string) (Cursor, error) {
	at, n, ok := strings.Cut(s, "/")
	t, err := time.Parse(time.RFC3339Nano, at)
	count, nerr := strconv.Atoi(n)
	if !ok || err != nil || nerr != nil || count < 1 {
		return Cursor{}, errs.Invalid(field, "%q is not a log cursor (<RFC3339 time>/<n>, as an event id)", s)
	}
	return Cursor{t, count}, nil
}

// Line is one log line of a container and the cursor just past it.
type Line struct {
	Time   time.Time
	Text   string
	Cursor Cursor
}

// LogStream selects one container's log.
type LogStream struct {
	Pod, Container string
	Follow         bool
	Tail           int64  // lines before now to start with (From unset); < 0: all
	From           Cursor // resume after this line instead
	// Back bounds how far back a resume reads (lines since the cursor's
	// second; 0: no bound); LimitBytes bounds what is read (0: none).
	Back       int64
	LimitBytes int64
}

// MaxLine bounds one log line; longer ones are cut (the runtime splits
// lines past 16 KiB anyway).
const MaxLine = 16 << 10

// ReadLogs is the one log reader: it streams a container's log (pods/log,
// with timestamps, tail or since the cursor, following if asked) to emit,
// line by line with its cursor, until the log ends (the container stopped,
// or not following), ctx ends, or emit returns false. It returns the
// cursor past the last line emitted.
func (c *Cluster) ReadLogs(ctx context.Context, namespace string, s LogStream, emit func(Line) bool) (Cursor, error) {
	opts := &corev1.PodLogOptions{Container: s.Container, Follow: s.Follow, Timestamps: true}
	catching := !s.From.IsZero() // resumed: skip what came up to the cursor
	if catching {
		// sinceTime travels in whole seconds: the lines of that second up
		// to the cursor come again, and are skipped.
		since := metav1.NewTime(s.From.Time.Truncate(time.Second))
		opts.SinceTime = &since
		if s.Back > 0 { // a cursor from long ago reads no more than a tail
			back := s.Back + int64(s.From.N)
			opts.TailLines = &back
		}
	} else if s.Tail >= 0 {
		opts.TailLines = &s.Tail
	}
	if s.LimitBytes > 0 {
		opts.LimitBytes = &s.LimitBytes
	}
	typed := c.Typed
	if s.Follow {
		// A followed stream outlives the per-request timeout: only ctx ends it.
		cfg := *c.Config
		cfg.Timeout = 0
		var err error
		if typed, err = kubernetes.NewForConfig(&cfg); err != nil {
			return s.From, err
		}
	}
	rc, err := typed.CoreV1().Pods(namespace).GetLogs(s.Pod, opts).Stream(ctx)
	if err != nil {
		return s.From, Err(err)
	}
	defer rc.Close()
	cur, seen := s.From, 0
	r := bufio.NewReaderSize(rc, 32<<10)
	for {
		raw, err := readLine(r)
		if raw != "" {
			t, text, perr := parseLine(raw)
			if perr != nil {
				return cur, perr
			}
			switch {
			case catching && t.Before(s.From.Time):
				continue
			case catching && t.Equal(s.From.Time):
				if seen++; seen <= s.From.N {
					continue
				}
				cur, catching = Cursor{t, seen}, false
			case catching || !t.Equal(cur.Time):
				cur, catching = Cursor{t, 1}, false
			default:
				cur.N++
			}
			if !emit(Line{Time: t, Text: text, Cursor: cur}) {
				return cur, nil
			}
		}
		if errors.Is(err, io.EOF) || ctx.Err() != nil {
			return cur, ctx.Err()
		}
		if err != nil {
			return cur, Err(err)
		}
	}
}

// readLine reads one line without its newline, cut at MaxLine.
func readLine(r *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		chunk, err := r.ReadSlice('\n')
		if b.Len() < MaxLine {
			b.Write(chunk[:min(len(chunk), MaxLine-b.Len())])
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return strings.TrimSuffix(b.String(), "\n"), err
	}
}

// parseLine splits a timestamped log line ("<RFC3339Nano> <text>").
func parseLine(raw string) (time.Time, string, error) {
	at, text, _ := strings.Cut(raw, " ")
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("log line without a timestamp: %q", raw[:min(len(raw), 80)])
	}
	return t, text, nil
}
