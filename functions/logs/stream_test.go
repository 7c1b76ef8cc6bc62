package logs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/coder/websocket"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envhub/envhub/functions/logs"
	"github.com/envhub/envhub/infra/local"
	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/store"
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

// connIDs lists the connections recorded in the test's table (each test
// has its own): the store reads one by id only, and a client never learns
// its id.
func connIDs(t *testing.T, f fixture) []string {
	t.Helper()
	p := dynamodb.NewScanPaginator(f.e.Deps.DB, &dynamodb.ScanInput{TableName: aws.String(f.e.Deps.Store.Table()),
		FilterExpression:          aws.String("begins_with(PK, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: "conn#"}},
		ConsistentRead:            aws.Bool(true)})
	var out []string
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			if pk, ok := it["PK"].(*types.AttributeValueMemberS); ok {
				if id := strings.TrimPrefix(pk.Value, "conn#"); !slices.Contains(out, id) {
					out = append(out, id)
				}
			}
		}
	}
	return out
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
// several hand-overs the client gets every line exactly once, in order,
// and the subscription's generation tells the hand-overs happened.
func TestSocketHandOver(t *testing.T) {
	setVar(t, &logs.Lifetime, 1500*time.Millisecond)
	f := setup(t, "w4")
	pod := f.pod(t, "w4")
	c := dial(t, f.e, lt.Alice)
	c.subscribed(subscribe("w4", "id", "h1", "pod", pod, "container", "web", "tails", 0))
	following(t, f, c)
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
	}
	// A last line after them: a line sent twice would come before it.
	want = append(want, mark+" end")
	f.write(t, mark+" end")
	got := c.texts(mark, len(want), false)
	if !slices.Equal(got, want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(got), len(want), diffLines(got, want))
	}
	ids := connIDs(t, f)
	if len(ids) != 1 {
		t.Fatalf("connections %v", ids)
	}
	sub, err := f.e.Deps.Store.Subscription(context.Background(), ids[0], "h1")
	if err != nil {
		t.Fatal(err)
	}
	if sub.Gen < 4 {
		t.Fatalf("generation %d: fewer than 3 hand-overs in %v", sub.Gen, 30*200*time.Millisecond)
	}
	t.Logf("%d lines through %d hand-overs", len(want), sub.Gen-1)
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
	var sent []struct{ Pod, Cursor, Text string }
	for len(sent) < len(written) {
		m := first.next(mark, 30*time.Second)
		if m.Type != "lines" {
			t.Fatalf("got %+v", m)
		}
		sent = append(sent, m.Lines...)
	}
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
			var got []struct{ Pod, Cursor, Text string }
			for len(got) < len(want) {
				m := c.next(mark, 30*time.Second)
				if m.Type != "lines" {
					t.Fatalf("got %+v", m)
				}
				got = append(got, m.Lines...)
			}
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

// dialSlow connects as dial does, but reads the socket only when the test
// takes a message from c.in (which holds none): while the test takes
// nothing, the client does not read, and what the server sends piles up
// in the socket buffers until its writes block.
func dialSlow(t *testing.T, e *lt.Env, u lt.User) *client {
	t.Helper()
	ws, resp, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(e.URL, "http")+"/"+local.Stage,
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + e.Token(t, u)}}})
	if err != nil {
		t.Fatalf("dial: %v %v", resp, err)
	}
	ws.SetReadLimit(1 << 20)
	c := &client{t, ws, make(chan wsMsg)}
	done := make(chan struct{})
	go func() {
		defer close(c.in)
		for {
			_, data, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			var m wsMsg
			if err := json.Unmarshal(data, &m); err != nil {
				t.Errorf("not JSON: %s", data)
			}
			select {
			case c.in <- m:
			case <-done:
				return
			}
		}
	}()
	t.Cleanup(func() { close(done); _ = ws.CloseNow() })
	return c
}

// A client that stops reading is not waited for: its worker keeps at most
// BufferLines lines and drops the rest, telling how many in the next
// message. Once the client reads again every line written is accounted
// for (received, or counted as dropped) and the lines received are in
// order, none twice.
func TestSocketSlowClient(t *testing.T) {
	setVar(t, &logs.BufferLines, 20)
	setVar(t, &local.PostTimeout, 20*time.Second) // the client comes back before it is let go
	f := setup(t, "w7")
	pod := f.pod(t, "w7")
	c := dialSlow(t, f.e, lt.Alice)
	c.subscribed(subscribe("w7", "pod", pod, "container", "web", "tails", 0))
	following(t, f, c)
	mark := fmt.Sprintf("k%d", time.Now().UnixNano())
	const n = 6000 // ~6 MiB: more than the socket buffers hold
	pad := strings.Repeat("x", 1000)
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("%s %05d %s", mark, i, pad)
	}
	f.write(t, lines...)
	time.Sleep(3 * time.Second) // not reading: the worker's post blocks, its reader goes on

	received, dropped, drops, last := 0, 0, 0, -1
	deadline := time.After(30 * time.Second)
	for received+dropped < n {
		select {
		case m, ok := <-c.in:
			if !ok {
				t.Fatalf("connection closed after %d lines received, %d dropped", received, dropped)
			}
			if m.Type != "lines" {
				t.Fatalf("got %+v", m)
			}
			if m.Dropped > 0 {
				dropped += m.Dropped
				drops++
			}
			for _, l := range m.Lines {
				rest, ok := strings.CutPrefix(l.Text, mark+" ")
				if !ok {
					t.Fatalf("a line not of this test: %.60q", l.Text)
				}
				i, _ := strconv.Atoi(rest[:5])
				if i <= last {
					t.Fatalf("line %d after line %d", i, last)
				}
				last = i
				received++
			}
		case <-deadline:
			t.Fatalf("%d lines received, %d dropped, of %d", received, dropped, n)
		}
	}
	if received+dropped != n || dropped == 0 || received == 0 {
		t.Fatalf("%d lines received, %d dropped (in %d messages), of %d", received, dropped, drops, n)
	}
	t.Logf("%d lines received, %d dropped (reported in %d messages)", received, dropped, drops)
}

// $disconnect deletes the connection's records, its subscriptions with it,
// whether the client closed the socket properly or just went away.
func TestSocketDisconnect(t *testing.T) {
	f := setup(t, "w8")
	pod := f.pod(t, "w8")
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		close func(*websocket.Conn) error
	}{
		{"close frame", func(ws *websocket.Conn) error { return ws.Close(websocket.StatusNormalClosure, "") }},
		{"connection dropped", func(ws *websocket.Conn) error { return ws.CloseNow() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := connIDs(t, f)
			c := dial(t, f.e, lt.Alice)
			c.subscribed(subscribe("w8", "id", "d1", "pod", pod, "container", "web", "tails", 0))
			id := newConn(t, before, connIDs(t, f))
			if conn, err := f.e.Deps.Store.Connection(ctx, id); err != nil || conn.Subject != "alice" || conn.Subs != 1 {
				t.Fatalf("connection %s: %+v %v", id, conn, err)
			}
			if _, err := f.e.Deps.Store.Subscription(ctx, id, "d1"); err != nil {
				t.Fatal(err)
			}
			if err := tc.close(c.ws); err != nil {
				t.Fatal(err)
			}
			eventually(t, 10*time.Second, "the connection's records deleted", func() bool {
				return !slices.Contains(connIDs(t, f), id)
			})
			if _, err := f.e.Deps.Store.Connection(ctx, id); !notFound(err) {
				t.Fatalf("connection after $disconnect: %v", err)
			}
			if _, err := f.e.Deps.Store.Subscription(ctx, id, "d1"); !notFound(err) {
				t.Fatalf("subscription after $disconnect: %v", err)
			}
		})
	}
}

// A worker whose connection is gone (the management API answers 410, as
// for a client that went away without $disconnect) deletes the
// connection's records and stops.
func TestSocketGoneConnection(t *testing.T) {
	f := setup(t, "w9")
	pod := f.pod(t, "w9")
	ctx := context.Background()
	st := f.e.Deps.Store
	if err := st.PutConnection(ctx, store.Connection{ID: "gone-1", Subject: "alice", Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	sub := store.Subscription{Connection: "gone-1", ID: "g1", Project: project, Env: "w9", Pod: pod, Container: "web",
		Tails: 0, Since: time.Now().UTC(), Gen: 1}
	if err := st.Subscribe(ctx, sub, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(map[string]logs.Job{"logs_worker": {Connection: "gone-1", Subscription: "g1", Gen: 1}})
	if err := f.e.Deps.Invoker.Invoke(ctx, payload); err != nil {
		t.Fatal(err)
	}
	// A line for the worker to post once it follows the log.
	mark := fmt.Sprintf("g%d", time.Now().UnixNano())
	eventually(t, 20*time.Second, "the gone connection deleted", func() bool {
		f.write(t, mark)
		_, err := st.Connection(ctx, "gone-1")
		return notFound(err)
	})
	if _, err := st.Subscription(ctx, "gone-1", "g1"); !notFound(err) {
		t.Fatalf("subscription: %v", err)
	}
	if ids := connIDs(t, f); len(ids) != 0 {
		t.Fatalf("records left of connections %v", ids)
	}
}

// A stream ends with a message saying why, and its subscription is
// deleted (the connection stays): when its pod is deleted ("end"), and
// when the subscriber can no longer read the environment (the next worker
// checks the rights again, after a hand-over: an error, 404 as for any
// project one may not read).
func TestSocketStreamEnds(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		key      string
		lifetime time.Duration // a worker's, before it hands over
		who      lt.User
		act      func(t *testing.T, f fixture, pod string)
		typ      string
		status   int
		says     string
	}{
		{"pod deleted", "w10", time.Minute, lt.Alice, func(t *testing.T, f fixture, pod string) {
			zero := int64(0)
			if err := f.c.Typed.CoreV1().Pods(project+"-env-w10").Delete(ctx, pod, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
				t.Fatal(err)
			}
		}, "end", 0, "gone"},
		{"access lost", "w11", 1500 * time.Millisecond, lt.Bob, func(t *testing.T, f fixture, _ string) {
			lt.Success(t, f.e.Call(lt.Alice, "UpdateProject", lt.Req{Query: pk(), Body: map[string]any{"visibility": "private"}}))
		}, "error", 404, project},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setVar(t, &logs.Lifetime, tc.lifetime)
			setVar(t, &logs.PodsEvery, 300*time.Millisecond)
			f := setup(t, tc.key)
			pod := f.pod(t, tc.key)
			c := dial(t, f.e, tc.who)
			c.subscribed(subscribe(tc.key, "id", "e1", "pod", pod, "container", "web", "tails", 0))
			ids := connIDs(t, f)
			if len(ids) != 1 {
				t.Fatalf("connections %v", ids)
			}
			following(t, f, c)
			tc.act(t, f, pod)
			var m wsMsg
			for m = c.next("\x00", 30*time.Second); m.Type == "lines"; m = c.next("\x00", 30*time.Second) {
			}
			if m.Type != tc.typ || m.ID != "e1" || m.Status != tc.status || !strings.Contains(m.Message, tc.says) {
				t.Fatalf("got %+v, want a %s %d naming %q", m, tc.typ, tc.status, tc.says)
			}
			eventually(t, 5*time.Second, "the subscription deleted", func() bool {
				_, err := f.e.Deps.Store.Subscription(ctx, ids[0], "e1")
				return notFound(err)
			})
			if conn, err := f.e.Deps.Store.Connection(ctx, ids[0]); err != nil || conn.Subs != 0 {
				t.Fatalf("the connection stays, with no subscription: %+v %v", conn, err)
			}
		})
	}
}
