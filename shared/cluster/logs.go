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

// maxRank bounds a cursor's rank: a resume reads its second's lines up to
// it again, so a forged rank must not read a whole log.
const maxRank = 100000

// ParseCursor reads a cursor token; field names it in errors.
func ParseCursor(field, s string) (Cursor, error) {
	at, n, ok := strings.Cut(s, "/")
	t, err := time.Parse(time.RFC3339Nano, at)
	count, nerr := strconv.Atoi(n)
	if !ok || err != nil || nerr != nil || count < 1 || count > maxRank {
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

// A tail is read first on its own, with rankSlack lines before it: a
// line's rank among those of its timestamp counts lines before the tail
// too (else a resume at a cursor in the tail's first second would skip too
// few). A tail holds at most MaxTailBytes of text (its oldest lines go).
const (
	rankSlack    = 100
	MaxTailBytes = 8 << 20
)

// ReadLogs is the one log reader: it streams a container's log (pods/log,
// with timestamps, tail or since the cursor, following if asked) to emit,
// line by line with its cursor, until the log ends (the container stopped,
// or not following), ctx ends, or emit returns false. It returns where it
// read up to: the cursor past the last line emitted (if emit stopped it),
// else past the last line read (a tail's lines before it included), from
// which a later read goes on.
func (c *Cluster) ReadLogs(ctx context.Context, namespace string, s LogStream, emit func(Line) bool) (Cursor, error) {
	if s.From.IsZero() && s.Tail >= 0 {
		started := time.Now()
		last, stopped, err := c.readTail(ctx, namespace, s, emit)
		if stopped {
			return last.sent, err
		}
		if err != nil || !s.Follow {
			return last.read, err
		}
		// Follow on from the last line there was (sent or not); an empty
		// log, from when the tail was read.
		s.From = last.read
		if s.From.IsZero() {
			s.From = Cursor{Time: started.Add(-time.Second).Truncate(time.Second)}
		}
		s.Back, s.LimitBytes = 0, 0
		return c.readFrom(ctx, namespace, s, emit)
	}
	return c.readFrom(ctx, namespace, s, emit)
}

// cursors tells where a tail read ended: past the last line it read, and
// past the last one it emitted.
type cursors struct{ read, sent Cursor }

// readTail reads the last s.Tail lines (and rankSlack before them, to rank
// them) without following, and emits them.
func (c *Cluster) readTail(ctx context.Context, namespace string, s LogStream, emit func(Line) bool) (cursors, bool, error) {
	tail := s.Tail + rankSlack
	var out cursors
	var ring []Line
	bytes, limit := 0, MaxTailBytes
	if s.LimitBytes > 0 && int(s.LimitBytes) < limit {
		limit = int(s.LimitBytes)
	}
	err := c.stream(ctx, namespace, &corev1.PodLogOptions{Container: s.Container, Timestamps: true, TailLines: &tail}, s.Pod,
		func(t time.Time, text string) bool {
			if t.Equal(out.read.Time) {
				out.read.N++
			} else {
				out.read = Cursor{t, 1}
			}
			ring = append(ring, Line{Time: t, Text: text, Cursor: out.read})
			bytes += len(text)
			for len(ring) > int(s.Tail) || bytes > limit && len(ring) > 0 {
				bytes -= len(ring[0].Text)
				ring = ring[1:]
			}
			return true
		})
	if err != nil {
		return out, false, err
	}
	for _, l := range ring {
		if !emit(l) {
			return out, true, nil
		}
		out.sent = l.Cursor
	}
	return out, false, nil
}

// readFrom streams the lines after s.From (following if asked).
func (c *Cluster) readFrom(ctx context.Context, namespace string, s LogStream, emit func(Line) bool) (Cursor, error) {
	opts := &corev1.PodLogOptions{Container: s.Container, Follow: s.Follow, Timestamps: true}
	// sinceTime travels in whole seconds: the lines of that second up to
	// the cursor come again, and are skipped.
	if !s.From.IsZero() {
		since := metav1.NewTime(s.From.Time.Truncate(time.Second))
		opts.SinceTime = &since
	}
	if s.Back > 0 && !s.From.IsZero() { // a cursor from long ago reads no more than a tail
		back := s.Back + int64(s.From.N)
		opts.TailLines = &back
	}
	if s.LimitBytes > 0 {
		opts.LimitBytes = &s.LimitBytes
	}
	cur, seen, catching := s.From, 0, !s.From.IsZero()
	err := c.stream(ctx, namespace, opts, s.Pod, func(t time.Time, text string) bool {
		switch {
		case catching && t.Before(s.From.Time):
			return true
		case catching && t.Equal(s.From.Time):
			if seen++; seen <= s.From.N {
				return true
			}
			cur, catching = Cursor{t, seen}, false
		case catching || !t.Equal(cur.Time):
			cur, catching = Cursor{t, 1}, false
		default:
			cur.N++
		}
		return emit(Line{Time: t, Text: text, Cursor: cur})
	})
	return cur, err
}

// stream reads pods/log with opts, line by line, until it ends, ctx ends or
// line returns false.
func (c *Cluster) stream(ctx context.Context, namespace string, opts *corev1.PodLogOptions, pod string, line func(time.Time, string) bool) error {
	typed := c.Typed
	if opts.Follow {
		var err error
		if typed, err = c.follower(); err != nil {
			return err
		}
	}
	rc, err := typed.CoreV1().Pods(namespace).GetLogs(pod, opts).Stream(ctx)
	if err != nil {
		return Err(err)
	}
	defer rc.Close()
	r := bufio.NewReaderSize(rc, 32<<10)
	for {
		raw, err := readLine(r)
		if raw != "" {
			t, text, perr := parseLine(raw)
			if perr != nil {
				return perr
			}
			if !line(t, text) {
				return nil
			}
		}
		if errors.Is(err, io.EOF) || ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			return Err(err)
		}
	}
}

// follower is a client without the per-request timeout, made once per
// Cluster: a followed stream outlives any request, only its ctx ends it.
func (c *Cluster) follower() (kubernetes.Interface, error) {
	c.followOnce.Do(func() {
		cfg := *c.Config
		cfg.Timeout = 0
		c.followClient, c.followErr = kubernetes.NewForConfig(&cfg)
	})
	return c.followClient, c.followErr
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
