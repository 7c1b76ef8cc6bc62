package logs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/envhub/envhub/shared/auth"
	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/socket"
	"github.com/envhub/envhub/shared/store"
)

// Job asks a worker to stream a subscription as its generation Gen.
type Job struct {
	Connection   string `json:"connection"`
	Subscription string `json:"subscription"`
	Gen          int64  `json:"gen"`
	// First marks the subscription's first worker: it starts with the
	// tail; its successors start at their cursors, unbounded (they are
	// envhub's own, not a client's).
	First bool `json:"first,omitempty"`
}

// workerKey marks a worker's invocation payload: {"logs_worker": Job}.
const workerKey = "logs_worker"

// Worker timing. A Lambda runs at most 15 minutes: a worker hands over
// HandOver before its deadline (or after Lifetime where there is none,
// locally); tests shorten both.
var (
	Lifetime   = 14 * time.Minute
	HandOver   = 45 * time.Second
	Checkpoint = time.Second     // how often sent cursors are saved (and the subscription checked)
	PodsEvery  = 2 * time.Second // how often a service's pods are listed again
	// Recheck is how often a worker checks again that its caller may still
	// read the environment, and sends a keep-alive if it sent nothing since
	// (API Gateway drops connections idle for 10 minutes; a gone one
	// answers 410, which ends the stream).
	Recheck = time.Minute
)

// MaxPods bounds the pods one subscription follows.
const MaxPods = 20

// work streams one subscription to its connection until the connection or
// the subscription ends, or its time is up: then it sends what it has
// read, saves each pod's cursor past the last line sent, and starts its
// successor at those cursors, so no line is lost or sent twice.
func (h *Handler) work(ctx context.Context, j Job) error {
	sub, err := h.Conns.Subscription(ctx, j.Connection, j.Subscription)
	if errors.Is(err, errs.ErrNotFound) {
		return nil // unsubscribed or disconnected meanwhile
	}
	if err != nil {
		return err
	}
	// Claim it: of two workers started for one generation (an asynchronous
	// invocation may be delivered twice), one goes on.
	gen := newGen()
	if err := h.Conns.Checkpoint(ctx, j.Connection, j.Subscription, j.Gen, gen, sub.Cursors); err != nil {
		if errors.Is(err, store.ErrSuperseded) {
			return nil // another worker owns it, or it ended
		}
		return err
	}
	sub.Gen = gen
	conn, err := h.Conns.Connection(ctx, j.Connection)
	if errors.Is(err, errs.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	// Rights are checked again by every worker: access lost ends the stream.
	src, err := h.open(ctx, auth.Identity{Subject: conn.Subject, Admin: conn.Admin}, *sub)
	if err != nil {
		h.end(ctx, sub, errorMessage(ctx, sub.ID, err))
		return nil
	}
	end := time.Now().Add(Lifetime)
	if d, ok := ctx.Deadline(); ok {
		end = d.Add(-HandOver)
	}
	w := &worker{h: h, sub: sub, src: src, caller: auth.Identity{Subject: conn.Subject, Admin: conn.Admin}, buf: newBuffer(),
		cursors: map[string]cluster.Cursor{}, readers: map[string]context.CancelFunc{}, missing: map[string]int{}, readTo: map[string]cluster.Cursor{}, lastPost: time.Now()}
	for pod, c := range sub.Cursors {
		if cur, err := cluster.ParseCursor("cursor", c); err == nil {
			w.cursors[pod] = cur
		}
	}
	return w.run(ctx, end, conn.Expires, j.First)
}

// source is what a subscription reads: its environment's namespace on its
// cluster, one pod or a service's pods.
type source struct {
	env *model.Environment
	c   *cluster.Cluster
}

// open checks the caller may read the subscription's environment and that
// its pod (with the container) or service is there.
func (h *Handler) open(ctx context.Context, caller auth.Identity, sub store.Subscription) (source, error) {
	if sub.Pod != "" {
		if err := checkPod(sub.Pod); err != nil {
			return source{}, err
		}
	}
	e, c, err := h.source(ctx, caller, sub.Project, sub.Env)
	if err != nil {
		return source{}, err
	}
	if sub.Pod != "" {
		_, err = Target{Env: e, Cluster: c, Pod: sub.Pod, Container: sub.Container}.container(ctx)
		return source{e, c}, err
	}
	for _, s := range e.Services {
		if s.Name == sub.Service {
			return source{e, c}, nil
		}
	}
	return source{}, errs.NotFound("service of environment "+e.Key, sub.Service)
}

type worker struct {
	h        *Handler
	sub      *store.Subscription
	src      source
	caller   auth.Identity
	first    bool // the subscription's first worker
	lastPost time.Time
	buf      *buffer
	cursors  map[string]cluster.Cursor // per pod, past the last line sent (or dropped)
	saved    int                       // changes since the last checkpoint
	mu       sync.Mutex
	readers  map[string]context.CancelFunc // pods being read
	missing  map[string]int                // pods being read, not listed lately
	readTo   map[string]cluster.Cursor     // pods read before, where their reader stopped
	wg       sync.WaitGroup
}

func (w *worker) run(ctx context.Context, end, expires time.Time, first bool) error {
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	w.first = first
	if _, err := w.pods(readCtx, first); err != nil {
		w.h.end(ctx, w.sub, errorMessage(ctx, w.sub.ID, err))
		return nil
	}
	save := time.NewTicker(Checkpoint)
	defer save.Stop()
	relist := time.NewTicker(PodsEvery)
	defer relist.Stop()
	recheck := time.NewTicker(Recheck)
	defer recheck.Stop()
	timeUp := time.NewTimer(time.Until(end))
	defer timeUp.Stop()
	expired := time.NewTimer(time.Until(expires))
	defer expired.Stop()
	for {
		select {
		case <-w.buf.wake:
			// One message per turn, so checkpoints and the hand-over keep
			// their time under a steady stream.
			if err := w.flush(ctx, 1); err != nil {
				return w.stop(ctx, stopReading, err)
			}
			if !w.buf.empty() {
				w.buf.signal()
			}
		case <-save.C:
			if err := w.checkpoint(ctx, w.sub.Gen); err != nil {
				return w.stop(ctx, stopReading, err)
			}
		case <-relist.C:
			gone, err := w.pods(readCtx, false)
			if err != nil && ctx.Err() == nil {
				slog.WarnContext(ctx, "log stream pods", "subscription", w.sub.ID, "err", err)
			}
			if gone && w.sub.Pod != "" && w.idle() {
				stopReading()
				w.wg.Wait()
				if err := w.flush(ctx, -1); err != nil {
					return w.stop(ctx, stopReading, err)
				}
				w.h.end(ctx, w.sub, message{Type: "end", ID: w.sub.ID, Pod: w.sub.Pod, Message: "the pod is gone"})
				return nil
			}
		case <-recheck.C:
			if _, _, err := w.h.source(ctx, w.caller, w.sub.Project, w.sub.Env); err != nil && !errors.Is(err, errs.ErrUnavailable) && ctx.Err() == nil {
				stopReading()
				w.wg.Wait()
				w.h.end(ctx, w.sub, errorMessage(ctx, w.sub.ID, err))
				return nil
			}
			if time.Since(w.lastPost) >= Recheck {
				if err := w.post(ctx, encode(message{Type: "keep-alive", ID: w.sub.ID})); err != nil {
					return w.stop(ctx, stopReading, err)
				}
				w.lastPost = time.Now()
			}
		case <-expired.C:
			stopReading()
			w.wg.Wait()
			_ = w.flush(ctx, -1)
			w.h.push(ctx, w.sub.Connection, message{Type: "error", ID: w.sub.ID, Status: 401, Message: "the token has expired: connect again with a new one"})
			_ = w.h.Connections.Delete(ctx, w.sub.Connection)
			return w.h.Conns.DeleteConnection(ctx, w.sub.Connection)
		case <-timeUp.C:
			return w.handOver(ctx, stopReading)
		case <-ctx.Done():
			return nil
		}
	}
}

// stop ends the worker on err: a gone connection is cleaned up; a
// subscription ended or handed over just stops.
func (w *worker) stop(ctx context.Context, stopReading func(), err error) error {
	stopReading()
	w.wg.Wait()
	switch {
	case errors.Is(err, socket.ErrGone):
		return w.h.Conns.DeleteConnection(ctx, w.sub.Connection)
	case errors.Is(err, store.ErrSuperseded):
		return nil
	}
	// Anything else ends the stream, and says so: a retry of this
	// invocation would find its generation gone and do nothing.
	slog.ErrorContext(ctx, "log stream", "subscription", w.sub.ID, "err", err)
	w.h.end(ctx, w.sub, message{Type: "error", ID: w.sub.ID, Status: 503,
		Message: "the log stream failed: subscribe again with since set to the last cursor received"})
	return nil
}

// handOver stops reading, sends everything read, saves the cursors as the
// next generation's and starts it.
func (w *worker) handOver(ctx context.Context, stopReading func()) error {
	stopReading()
	w.wg.Wait()
	if err := w.flush(ctx, -1); err != nil {
		return w.stop(ctx, stopReading, err)
	}
	next := newGen()
	if err := w.checkpoint(ctx, next); err != nil {
		return w.stop(ctx, stopReading, err)
	}
	job := Job{Connection: w.sub.Connection, Subscription: w.sub.ID, Gen: next}
	var err error
	for try := 0; try < 3; try++ {
		if err = w.h.startWorker(ctx, job); err == nil {
			return nil
		}
		time.Sleep(time.Duration(try+1) * 200 * time.Millisecond)
	}
	slog.ErrorContext(ctx, "log stream hand-over", "subscription", w.sub.ID, "err", err)
	w.sub.Gen = next
	w.h.end(ctx, w.sub, message{Type: "error", ID: w.sub.ID, Status: 503, Message: "the log stream was interrupted: subscribe again with since set to the last cursor received"})
	return nil
}

// end deletes a subscription its worker owns (generation sub.Gen), and
// tells the client why; one no longer its own is left alone.
func (h *Handler) end(ctx context.Context, sub *store.Subscription, m message) {
	err := h.Conns.Unsubscribe(ctx, sub.Subject, sub.Connection, sub.ID, sub.Gen)
	switch {
	case errors.Is(err, store.ErrSuperseded) || errors.Is(err, errs.ErrNotFound):
		return
	case err != nil:
		slog.ErrorContext(ctx, "end log stream", "subscription", sub.ID, "err", err)
	}
	h.push(ctx, sub.Connection, m)
}

// push sends one message, best effort.
func (h *Handler) push(ctx context.Context, conn string, m message) {
	if err := h.Connections.Post(ctx, conn, encode(m)); err != nil && !errors.Is(err, socket.ErrGone) {
		slog.WarnContext(ctx, "push", "subscription", m.ID, "err", err)
	}
}

// flush sends what the buffer holds (up to max messages; -1: all), each
// within the API's limit, and moves the cursors past it.
func (w *worker) flush(ctx context.Context, max int) error {
	for ; max != 0 && !w.buf.empty(); max-- {
		b := w.buf.take(socket.MaxMessage / 2)
		if err := w.send(ctx, b.lines, b.dropped); err != nil {
			return err
		}
		for pod, c := range b.skipped {
			w.advance(pod, c)
		}
		for _, p := range b.lines {
			w.advance(p.pod, p.line.Cursor)
		}
		w.lastPost = time.Now()
	}
	return nil
}

// send posts lines as one message, or in halves while it is over the API's
// limit (JSON escapes a control character in six bytes: a line's length
// says little of its message's).
func (w *worker) send(ctx context.Context, lines []pending, dropped int) error {
	m := message{Type: "lines", ID: w.sub.ID, Dropped: dropped, Lines: make([]sentLine, len(lines))}
	for i, p := range lines {
		m.Lines[i] = sentLine{Pod: p.pod, Cursor: p.line.Cursor.String(), Text: p.line.Text}
	}
	data := encode(m)
	if len(data) > socket.MaxMessage && len(lines) > 1 {
		half := len(lines) / 2
		if err := w.send(ctx, lines[:half], dropped); err != nil {
			return err
		}
		return w.send(ctx, lines[half:], 0)
	}
	return w.post(ctx, data)
}

// encode is a message as JSON, HTML characters unescaped (they cost six bytes each).
func encode(m message) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(m)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// post sends one message, retrying the management API's passing trouble.
func (w *worker) post(ctx context.Context, data []byte) error {
	var err error
	for try := 0; try < 3; try++ {
		if err = w.h.Connections.Post(ctx, w.sub.Connection, data); err == nil || errors.Is(err, socket.ErrGone) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(try+1) * 100 * time.Millisecond)
	}
	return fmt.Errorf("push to the connection: %w", err)
}

func (w *worker) advance(pod string, c cluster.Cursor) {
	if cur, ok := w.cursors[pod]; !ok || after(c, cur) {
		w.cursors[pod] = c
		w.saved++
	}
}

// checkpoint saves the cursors as generation next's (also how a worker
// learns its subscription ended: the save fails).
func (w *worker) checkpoint(ctx context.Context, next int64) error {
	if w.saved == 0 && next == w.sub.Gen {
		// Nothing new: only check the subscription still is ours.
		sub, err := w.h.Conns.Subscription(ctx, w.sub.Connection, w.sub.ID)
		if errors.Is(err, errs.ErrNotFound) || err == nil && sub.Gen != w.sub.Gen {
			return store.ErrSuperseded
		}
		return err
	}
	out := make(map[string]string, len(w.cursors))
	for pod, c := range w.cursors {
		out[pod] = c.String()
	}
	if err := w.h.Conns.Checkpoint(ctx, w.sub.Connection, w.sub.ID, w.sub.Gen, next, out); err != nil {
		return err
	}
	w.saved = 0
	return nil
}
