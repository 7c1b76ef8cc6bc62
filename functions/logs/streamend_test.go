package logs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envhub/envhub/functions/logs"
	"github.com/envhub/envhub/infra/local"
	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/shared/store"
)

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

	received, dropped, drops, last, foreign := 0, 0, 0, -1, 0
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
					foreign++ // another test process writing the shared log
					continue
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
	// Dropped lines of another process writing the shared log meanwhile
	// would count too: only then may the count be over.
	if received+dropped != n && foreign == 0 || dropped == 0 || received == 0 {
		t.Fatalf("%d lines received, %d dropped (in %d messages), of %d", received, dropped, drops, n)
	}
	t.Logf("%d lines received, %d dropped (reported in %d messages), %d lines of others", received, dropped, drops, foreign)
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
				return leftOf(t, f, id) == 0
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
	sub := store.Subscription{Connection: "gone-1", ID: "g1", Subject: "alice", Project: project, Env: "w9", Pod: pod, Container: "web",
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
	if n := leftOf(t, f, "gone-1"); n != 0 {
		t.Fatalf("%d records of the connection left", n)
	}
}

// outcome is how a stream may end: a message of type typ, with status,
// whose message names says.
type outcome struct {
	typ    string
	status int
	says   string
}

// A stream ends with a message saying why, and its subscription is
// deleted (the connection stays): when its pod is deleted, and when the
// subscriber can no longer read the environment, which the next worker
// checks again after a hand-over, as a worker does every Recheck (an
// error, 404 as for any project one may not read).
//
// A deleted pod's stream ends with "end" once its log stream ends, as a
// kubelet's does when the container stops; kwok follows its one log file
// whatever becomes of the pod, so here it may be the next worker that
// finds the pod gone and ends the stream with a 404 naming it.
func TestSocketStreamEnds(t *testing.T) {
	ctx := context.Background()
	private := func(t *testing.T, f fixture, _ string) {
		lt.Success(t, f.e.Call(lt.Alice, "UpdateProject", lt.Req{Query: pk(), Body: map[string]any{"visibility": "private"}}))
	}
	for _, tc := range []struct {
		name     string
		key      string
		lifetime time.Duration // a worker's, before it hands over
		recheck  time.Duration
		who      lt.User
		act      func(t *testing.T, f fixture, pod string)
		want     []outcome // any of
	}{
		{"pod deleted", "w10", 1500 * time.Millisecond, time.Minute, lt.Alice, func(t *testing.T, f fixture, pod string) {
			zero := int64(0)
			if err := f.c.Typed.CoreV1().Pods(project+"-env-w10").Delete(ctx, pod, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
				t.Fatal(err)
			}
		}, []outcome{{"end", 0, "the pod is gone"}, {"error", 404, "web-"}}},
		{"access lost, at a hand-over", "w11", 1500 * time.Millisecond, time.Minute, lt.Bob, private, []outcome{{"error", 404, project}}},
		{"access lost, at a recheck", "w15", time.Minute, time.Second, lt.Bob, private, []outcome{{"error", 404, project}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setVar(t, &logs.Lifetime, tc.lifetime)
			setVar(t, &logs.Recheck, tc.recheck)
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
			for m = c.next("\x00", 30*time.Second); m.Type == "lines" || m.Type == "keep-alive"; m = c.next("\x00", 30*time.Second) {
			}
			if !slices.ContainsFunc(tc.want, func(o outcome) bool {
				return m.Type == o.typ && m.ID == "e1" && m.Status == o.status && strings.Contains(m.Message, o.says)
			}) {
				t.Fatalf("got %+v, want one of %+v", m, tc.want)
			}
			t.Logf("ended with %+v", m)
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
