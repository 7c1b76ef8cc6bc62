package logs

import (
	"sync"

	"github.com/envhub/envhub/shared/cluster"
)

// BufferLines bounds the lines a worker holds that its client has not
// taken yet; past it, lines are dropped and counted (a variable for tests).
var BufferLines = 2000

// buffer holds lines read from a subscription's pods until they are sent.
// It never grows past BufferLines: a client that reads too slowly loses
// lines, and is told how many.
type buffer struct {
	mu      sync.Mutex
	lines   []pending
	dropped int
	skipped map[string]cluster.Cursor // per pod, the last line dropped
	wake    chan struct{}
}

type pending struct {
	pod  string
	line cluster.Line
}

func newBuffer() *buffer {
	return &buffer{skipped: map[string]cluster.Cursor{}, wake: make(chan struct{}, 1)}
}

// add keeps a line (or drops it, if full) and wakes the sender.
func (b *buffer) add(pod string, l cluster.Line) {
	b.mu.Lock()
	if len(b.lines) < BufferLines {
		b.lines = append(b.lines, pending{pod, l})
	} else {
		b.dropped++
		b.skipped[pod] = l.Cursor
	}
	b.mu.Unlock()
	b.signal()
}

// signal wakes the sender (once, however many lines came).
func (b *buffer) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// batch is what one message carries: lines, and the lines dropped before
// them with the cursors past those.
type batch struct {
	lines   []pending
	dropped int
	skipped map[string]cluster.Cursor
}

// take removes up to maxBytes of lines (at least one), with the drops so far.
func (b *buffer) take(maxBytes int) batch {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, size := 0, 0
	for n < len(b.lines) {
		size += len(b.lines[n].line.Text) + len(b.lines[n].pod) + 96 // JSON and cursor
		if n > 0 && size > maxBytes {
			break
		}
		n++
	}
	out := batch{lines: append([]pending(nil), b.lines[:n]...), dropped: b.dropped, skipped: b.skipped}
	b.lines = append(b.lines[:0], b.lines[n:]...)
	b.dropped, b.skipped = 0, map[string]cluster.Cursor{}
	return out
}

// empty tells whether nothing waits to be sent.
func (b *buffer) empty() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.lines) == 0 && b.dropped == 0
}

// after tells whether cursor a is past b.
func after(a, b cluster.Cursor) bool {
	return a.Time.After(b.Time) || a.Time.Equal(b.Time) && a.N > b.N
}
