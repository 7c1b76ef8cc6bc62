package logs_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/coder/websocket"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envhub/envhub/functions/logs"
	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/shared/errs"
)

// setVar sets a package variable for one test. Call it before setup: the
// value is restored after the test's server has stopped its workers (the
// cleanups run last-registered first), so no worker reads it meanwhile.
func setVar[T any](t *testing.T, v *T, val T) {
	t.Helper()
	old := *v
	*v = val
	t.Cleanup(func() { *v = old })
}

// eventually polls cond until it holds, failing t after within.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
	}
}

// subscribed sends a subscription and checks the answer.
func (c *client) subscribed(msg map[string]any) wsMsg {
	c.t.Helper()
	c.send(msg)
	m := c.next("\x00", 10*time.Second) // no line holds a NUL: the answer itself
	if m.Type != "subscribed" {
		c.t.Fatalf("subscribe %v answered %+v", msg, m)
	}
	return m
}

// following writes probe lines, one at a time, until the latest arrives on
// c: its subscription's worker follows the log from then on (a tails 0
// subscription sends only lines written once the follow is open). Nothing
// else is pending once it returns: an earlier probe that arrives at all
// arrives before the latest.
func following(t *testing.T, f fixture, c *client) {
	t.Helper()
	base := fmt.Sprintf("probe %d", time.Now().UnixNano())
	for i := 0; i < 30; i++ {
		probe := fmt.Sprintf("%s #%d", base, i)
		f.write(t, probe)
		deadline := time.After(time.Second)
	wait:
		for {
			select {
			case m, ok := <-c.in:
				if !ok {
					t.Fatal("connection closed while probing")
				}
				if m.Type == "error" || m.Type == "end" {
					t.Fatalf("while probing: %+v", m)
				}
				for _, l := range m.Lines {
					if l.Text == probe {
						return
					}
				}
			case <-deadline:
				break wait
			}
		}
	}
	t.Fatal("no probe line came through in 30 s")
}

// scan reads the items of the test's table (each test has its own) whose
// partition key begins with prefix.
func scan(t *testing.T, f fixture, prefix string) []map[string]types.AttributeValue {
	t.Helper()
	p := dynamodb.NewScanPaginator(f.e.Deps.DB, &dynamodb.ScanInput{TableName: aws.String(f.e.Deps.Store.Table()),
		FilterExpression:          aws.String("begins_with(PK, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: prefix}},
		ConsistentRead:            aws.Bool(true)})
	var out []map[string]types.AttributeValue
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Items...)
	}
	return out
}

// connIDs lists the connections recorded (their records hold a count of
// subscriptions): the store reads one by id only, and a client never
// learns its id.
func connIDs(t *testing.T, f fixture) []string {
	t.Helper()
	var out []string
	for _, it := range scan(t, f, "conn#") {
		pk, ok := it["PK"].(*types.AttributeValueMemberS)
		if _, conn := it["subs"]; ok && conn {
			out = append(out, strings.TrimPrefix(pk.Value, "conn#"))
		}
	}
	return out
}

// leftOf counts the items left in a connection's partition (its record
// and its subscriptions').
func leftOf(t *testing.T, f fixture, id string) int {
	t.Helper()
	return len(scan(t, f, "conn#"+id))
}

// newConn is the one connection of after that before does not list.
func newConn(t *testing.T, before, after []string) string {
	t.Helper()
	var out []string
	for _, id := range after {
		if !slices.Contains(before, id) {
			out = append(out, id)
		}
	}
	if len(out) != 1 {
		t.Fatalf("connections %v, then %v", before, after)
	}
	return out[0]
}

func notFound(err error) bool { return errors.Is(err, errs.ErrNotFound) }

// A worker hands its subscription over to a successor when its time is up
// (Lifetime; a Lambda's deadline in AWS): under a steady stream across
// several hand-overs the client gets every line exactly once, in order.
// The subscription's generation, which each hand-over changes, tells the
// hand-overs happened.
func TestSocketHandOver(t *testing.T) {
	const lifetime = 1500 * time.Millisecond
	setVar(t, &logs.Lifetime, lifetime)
	f := setup(t, "w4")
	pod := f.pod(t, "w4")
	c := dial(t, f.e, lt.Alice)
	c.subscribed(subscribe("w4", "id", "h1", "pod", pod, "container", "web", "tails", 0))
	ids := connIDs(t, f)
	if len(ids) != 1 {
		t.Fatalf("connections %v", ids)
	}
	following(t, f, c)
	// A hand-over moves the generation on (to the next worker's, which
	// claims it with one of its own): changes apart by less than half a
	// worker's lifetime are one hand-over.
	var gen int64
	var changed []time.Time
	watch := func() {
		sub, err := f.e.Deps.Store.Subscription(context.Background(), ids[0], "h1")
		if err != nil {
			t.Fatal(err)
		}
		if sub.Gen != gen {
			if gen != 0 && (len(changed) == 0 || time.Since(changed[len(changed)-1]) > lifetime/2) {
				changed = append(changed, time.Now())
			}
			gen = sub.Gen
		}
	}
	watch()
	mark := fmt.Sprintf("h%d", time.Now().UnixNano())
	var want []string
	for batch := 0; batch < 30; batch++ { // 6 s: four hand-overs or so
		lines := make([]string, 5)
		for i := range lines {
			lines[i] = fmt.Sprintf("%s %03d", mark, len(want)+i)
		}
		want = append(want, lines...)
		f.write(t, lines...)
		time.Sleep(200 * time.Millisecond)
		watch()
	}
	// A last line after them: a line sent twice would come before it.
	want = append(want, mark+" end")
	f.write(t, mark+" end")
	got := c.texts(mark, len(want), false)
	if !slices.Equal(got, want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(got), len(want), diffLines(got, want))
	}
	if len(changed) < 3 {
		t.Fatalf("%d hand-overs seen in %v", len(changed), 30*200*time.Millisecond)
	}
	t.Logf("%d lines through %d hand-overs", len(want), len(changed))
}

// diffLines shows where two lists of lines part.
func diffLines(got, want []string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("equal up to %d; then got %q, want %q", i, got[i:min(len(got), i+5)], want[i:min(len(want), i+5)])
}

// A client that reconnects subscribes with since set to the cursor of the
// last line it received, and gets exactly the lines after it (whether the
// cursor is in the middle of lines of one timestamp, at the last of them,
// or at the log's last line), each with the cursor it had before.
func TestSocketResume(t *testing.T) {
	f := setup(t, "w5")
	pod := f.pod(t, "w5")
	first := dial(t, f.e, lt.Alice)
	first.subscribed(subscribe("w5", "pod", pod, "container", "web", "tails", 0))
	following(t, f, first)
	mark := fmt.Sprintf("r%d", time.Now().UnixNano())
	written := []string{"a1 " + mark, "a2 " + mark, "a3 " + mark, "b1 " + mark, "b2 " + mark, "b3 " + mark}
	f.write(t, written[:3]...) // one timestamp: the cursor's rank tells them apart
	time.Sleep(10 * time.Millisecond)
	f.write(t, written[3:]...)
	sent := first.collect(mark, len(written))
	for i, l := range sent {
		if l.Text != written[i] || l.Pod != pod {
			t.Fatalf("line %d: %+v, want %q", i, l, written[i])
		}
	}
	_ = first.ws.Close(websocket.StatusNormalClosure, "") // the client goes away

	for i, tc := range []struct {
		name  string
		after int // the line whose cursor since is
	}{
		{"mid-timestamp", 1},
		{"a timestamp's last line", 2},
		{"the last line", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, f.e, lt.Alice)
			c.subscribed(subscribe("w5", "pod", pod, "container", "web", "since", sent[tc.after].Cursor))
			end := fmt.Sprintf("end%d %s", i, mark) // a line after: what comes after the cursor ends with it
			f.write(t, end)
			written = append(written, end)
			want := written[tc.after+1:]
			got := c.collect(mark, len(want))
			for j, l := range got {
				if l.Text != want[j] {
					t.Fatalf("since %s (%q): line %d is %q, want %v", sent[tc.after].Cursor, sent[tc.after].Text, j, l.Text, want)
				}
				if k := tc.after + 1 + j; k < len(sent) && l.Cursor != sent[k].Cursor {
					t.Fatalf("line %q has cursor %s, was %s", l.Text, l.Cursor, sent[k].Cursor)
				}
			}
		})
	}
}

// A service's subscription follows the service's pods as they come: after
// a restart (through the API) lines arrive from the new pod, tagged with
// its name, each once and in order.
func TestSocketServiceNewPods(t *testing.T) {
	setVar(t, &logs.PodsEvery, 300*time.Millisecond)
	f := setup(t, "w6")
	old := f.pod(t, "w6")
	c := dial(t, f.e, lt.Alice)
	c.subscribed(subscribe("w6", "id", "svc", "service", "web", "tails", 0))
	following(t, f, c)
	mark := fmt.Sprintf("s%d", time.Now().UnixNano())
	f.write(t, "before "+mark)
	if got := c.texts(mark, 1, true); got[0] != old+": before "+mark {
		t.Fatalf("got %v, want a line of %s", got, old)
	}

	r := f.e.Call(lt.Alice, "RestartService", lt.Req{Path: map[string]string{"envKey": "w6", "serviceName": "web"}, Query: pk()})
	if done := f.e.Ended(t, lt.Alice, r, 200*time.Millisecond); done["status"] != "succeeded" {
		t.Fatalf("restart ended %v", done)
	}
	pods, err := f.c.Typed.CoreV1().Pods(project+"-env-w6").List(context.Background(), metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	var fresh []string
	for _, p := range pods.Items {
		if p.Name != old && p.DeletionTimestamp == nil {
			fresh = append(fresh, p.Name)
		}
	}
	if len(fresh) != 1 {
		t.Fatalf("pods after the restart: %v (the old one %s)", pods.Items, old)
	}
	after := []string{"x1 " + mark, "x2 " + mark, "x3 " + mark}
	f.write(t, after...)
	// The old pod's reader may still send them too (every pod's log here
	// is the same file): the new pod's lines are what count.
	var got []string
	for len(got) < len(after) {
		m := c.next(mark, 30*time.Second)
		if m.Type != "lines" {
			t.Fatalf("got %+v", m)
		}
		for _, l := range m.Lines {
			switch {
			case l.Pod == fresh[0] && strings.HasPrefix(l.Text, "x"):
				got = append(got, l.Text)
			case l.Pod != fresh[0] && l.Pod != old:
				t.Fatalf("a line of pod %s, neither %s nor %s", l.Pod, old, fresh[0])
			}
		}
	}
	if !slices.Equal(got, after) {
		t.Fatalf("new pod %s sent %v, want %v", fresh[0], got, after)
	}
}
