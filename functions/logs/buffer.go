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
// lines, and is told how many, where they were lost.
type buffer struct {
	mu    sync.Mutex
	lines []pending
	gaps  []gap // in order; at most one per run of lines
	wake  chan struct{}
}

type pending struct {
	pod  string
	line cluster.Line
}

// gap is lines dropped after the first at lines of the buffer.
type gap struct {
	at      int
	dropped int
	skipped map[string]cluster.Cursor // per pod, the last line dropped
}

func newBuffer() *buffer {
	return &buffer{wake: make(chan struct{}, 1)}
}

// add keeps a line (or drops it, if full) and wakes the sender.
func (b *buffer) add(pod string, l cluster.Line) {
	b.mu.Lock()
	switch n := len(b.gaps); {
	case len(b.lines) < BufferLines:
		b.lines = append(b.lines, pending{pod, l})
	case n > 0 && b.gaps[n-1].at == len(b.lines):
		b.gaps[n-1].dropped++
		b.gaps[n-1].skipped[pod] = l.Cursor
	default:
		b.gaps = append(b.gaps, gap{at: len(b.lines), dropped: 1, skipped: map[string]cluster.Cursor{pod: l.Cursor}})
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

// batch is what one message carries: the lines dropped just before its
// lines, with the cursors past those, and its lines.
type batch struct {
	dropped int
	skipped map[string]cluster.Cursor
	lines   []pending
}

// take removes the next batch: a gap that comes first, then lines up to
// maxBytes (at least one) and no further than the next gap.
func (b *buffer) take(maxBytes int) batch {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out batch
	if len(b.gaps) > 0 && b.gaps[0].at == 0 {
		out.dropped, out.skipped = b.gaps[0].dropped, b.gaps[0].skipped
		b.gaps = b.gaps[1:]
	}
	limit := len(b.lines)
	if len(b.gaps) > 0 {
		limit = b.gaps[0].at
	}
	n, size := 0, 0
	for n < limit {
		size += len(b.lines[n].line.Text) + len(b.lines[n].pod) + 96 // JSON and cursor
		if n > 0 && size > maxBytes {
			break
		}
		n++
	}
	out.lines = append([]pending(nil), b.lines[:n]...)
	b.lines = append(b.lines[:0], b.lines[n:]...)
	for i := range b.gaps {
		b.gaps[i].at -= n
	}
	return out
}

// empty tells whether nothing waits to be sent.
func (b *buffer) empty() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.lines) == 0 && len(b.gaps) == 0
}

// after tells whether cursor a is past b.
func after(a, b cluster.Cursor) bool {
	return a.Time.After(b.Time) || a.Time.Equal(b.Time) && a.N > b.N
}
