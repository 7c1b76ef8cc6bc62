package logs

import (
	"testing"
	"time"

	"github.com/envhub/envhub/shared/cluster"
)

// Dropped lines are reported where they were lost: after the lines read
// before them, before the lines read after them, with the cursor past them.
func TestBufferGaps(t *testing.T) {
	old := BufferLines
	BufferLines = 3
	defer func() { BufferLines = old }()
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	line := func(n int) cluster.Line {
		return cluster.Line{Time: at, Text: string(rune('a' + n)), Cursor: cluster.Cursor{Time: at, N: n + 1}}
	}
	b := newBuffer()
	for n := 0; n < 5; n++ { // a b c kept, d e dropped
		b.add("p", line(n))
	}
	texts := func(x batch) (s string) {
		for _, p := range x.lines {
			s += p.line.Text
		}
		return s
	}
	if x := b.take(1 << 20); texts(x) != "abc" || x.dropped != 0 {
		t.Fatalf("first batch %q dropped %d", texts(x), x.dropped)
	}
	b.add("p", line(5)) // f, after the gap
	x := b.take(1 << 20)
	if texts(x) != "f" || x.dropped != 2 || x.skipped["p"] != line(4).Cursor {
		t.Fatalf("second batch %q dropped %d past %v", texts(x), x.dropped, x.skipped)
	}
	if !b.empty() {
		t.Fatal("not empty")
	}
	// A gap between kept lines stays between them.
	for n := 0; n < 4; n++ { // a b c kept, d dropped
		b.add("p", line(n))
	}
	b.take(2) // a (one line fits)
	b.add("p", line(4))
	if x := b.take(1 << 20); texts(x) != "bc" || x.dropped != 0 {
		t.Fatalf("before the gap: %q dropped %d", texts(x), x.dropped)
	}
	if x := b.take(1 << 20); texts(x) != "e" || x.dropped != 1 {
		t.Fatalf("after the gap: %q dropped %d", texts(x), x.dropped)
	}
}
