package logs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/envhub/envhub/functions/logs"
	"github.com/envhub/envhub/infra/local"
	lt "github.com/envhub/envhub/infra/local/localtest"
)

// wsMsg is what the WebSocket API sends.
type wsMsg struct {
	Type    string   `json:"type"`
	ID      string   `json:"id"`
	Status  int      `json:"status"`
	Message string   `json:"message"`
	Pod     string   `json:"pod"`
	Dropped int      `json:"dropped"`
	Lines   []wsLine `json:"lines"`
}

type wsLine struct{ Pod, Cursor, Text string }

type client struct {
	t  testing.TB
	ws *websocket.Conn
	in chan wsMsg
}

// dial connects to the test server's WebSocket API as u; its messages
// queue in c.in.
func dial(t testing.TB, e *lt.Env, u lt.User) *client { return dialQueued(t, e, u, 10000) }

// dialSlow connects as dial does, but reads the socket only when the test
// takes a message from c.in (which holds none): while the test takes
// nothing, the client does not read, and what the server sends piles up
// in the socket buffers until its writes block.
func dialSlow(t testing.TB, e *lt.Env, u lt.User) *client { return dialQueued(t, e, u, 0) }

func dialQueued(t testing.TB, e *lt.Env, u lt.User, queue int) *client {
	t.Helper()
	ws, resp, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(e.URL, "http")+"/"+local.Stage,
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + e.Token(t, u)}}})
	if err != nil {
		t.Fatalf("dial: %v %v", resp, err)
	}
	ws.SetReadLimit(1 << 20)
	c := &client{t, ws, make(chan wsMsg, queue)}
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

func (c *client) send(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	if err := c.ws.Write(context.Background(), websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
}

// next is the next message other than lines without mark.
func (c *client) next(mark string, within time.Duration) wsMsg {
	c.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case m, ok := <-c.in:
			if !ok {
				c.t.Fatal("connection closed")
			}
			if m.Type != "lines" || m.Dropped > 0 {
				return m
			}
			var keep = m.Lines[:0]
			for _, l := range m.Lines {
				if strings.Contains(l.Text, mark) {
					keep = append(keep, l)
				}
			}
			if m.Lines = keep; len(keep) > 0 {
				return m
			}
		case <-deadline:
			c.t.Fatalf("nothing with %q within %v", mark, within)
		}
	}
}

// collect takes n lines carrying mark.
func (c *client) collect(mark string, n int) []wsLine {
	c.t.Helper()
	var out []wsLine
	for len(out) < n {
		m := c.next(mark, 30*time.Second)
		if m.Type != "lines" {
			c.t.Fatalf("got %+v while waiting for lines (%d of %d: %v)", m, len(out), n, out)
		}
		out = append(out, m.Lines...)
	}
	return out
}

// texts collects n lines carrying mark (pods as "pod: text").
func (c *client) texts(mark string, n int, withPod bool) []string {
	c.t.Helper()
	var out []string
	for _, l := range c.collect(mark, n) {
		if withPod {
			out = append(out, l.Pod+": "+l.Text)
		} else {
			out = append(out, l.Text)
		}
	}
	return out
}

func subscribe(key string, kv ...any) map[string]any {
	m := map[string]any{"action": "subscribe", "projectKey": project, "envName": key}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// The handshake needs a token of the issuer (header or token query), as
// the HTTP API's authorizer does: otherwise $connect refuses it with 401.
func TestSocketConnect(t *testing.T) {
	e := lt.New(t)
	url := "ws" + strings.TrimPrefix(e.URL, "http") + "/" + local.Stage
	forged, _ := (func() (string, error) {
		other, err := local.LoadAuthorizer(t.TempDir() + "/other.pem")
		if err != nil {
			return "", err
		}
		return other.Mint("alice", "admin", time.Hour)
	})()
	for _, c := range []struct {
		name   string
		query  string
		header string
		status int
	}{
		{"no token", "", "", 401},
		{"garbage", "?token=abc", "", 401},
		{"another issuer's key", "?token=" + forged, "", 401},
		{"header", "", "Bearer " + e.Token(t, lt.Alice), 101},
		{"query", "?token=" + e.Token(t, lt.Alice), "", 101},
	} {
		h := http.Header{}
		if c.header != "" {
			h.Set("Authorization", c.header)
		}
		ws, resp, err := websocket.Dial(context.Background(), url+c.query, &websocket.DialOptions{HTTPHeader: h})
		if resp == nil || resp.StatusCode != c.status {
			t.Errorf("%s: %v %v", c.name, resp, err)
		}
		if ws != nil {
			_ = ws.CloseNow()
		}
	}
}

// Subscribing to a pod streams its container's lines in order, from the
// subscription on (tails 0); unsubscribing ends it.
func TestSocketPod(t *testing.T) {
	f := setup(t, "w1")
	pod := f.pod(t, "w1")
	c := dial(t, f.e, lt.Alice)
	c.send(subscribe("w1", "id", "s1", "pod", pod, "container", "web", "tails", 0))
	if m := c.next("-", 10*time.Second); m.Type != "subscribed" || m.ID != "s1" {
		t.Fatalf("subscribe answered %+v", m)
	}
	mark := fmt.Sprintf("p%d", time.Now().UnixNano())
	time.Sleep(time.Second) // the worker opens the follow
	f.write(t, "1 "+mark, "2 "+mark, "3 "+mark)
	if got := c.texts(mark, 3, false); strings.Join(got, ",") != "1 "+mark+",2 "+mark+",3 "+mark {
		t.Fatalf("got %v", got)
	}
	c.send(map[string]any{"action": "unsubscribe", "id": "s1"})
	if m := c.next("-", 10*time.Second); m.Type != "unsubscribed" {
		t.Fatalf("unsubscribe answered %+v", m)
	}
	time.Sleep(2 * logs.Checkpoint) // the worker sees it at its next checkpoint
	f.write(t, "4 "+mark)
	select {
	case m := <-c.in:
		for _, l := range m.Lines {
			if strings.Contains(l.Text, "4 "+mark) {
				t.Fatalf("a line after unsubscribe: %+v", m)
			}
		}
	case <-time.After(3 * time.Second):
	}
}

// Refusals come back as error messages naming the field or the thing.
func TestSocketRefusals(t *testing.T) {
	f := setup(t, "w2", "w3")
	other := f.pod(t, "w3")
	c := dial(t, f.e, lt.Alice)
	for _, tc := range []struct {
		name   string
		msg    map[string]any
		status int
		says   string
	}{
		{"unknown pod", subscribe("w2", "pod", "nope-1", "container", "web"), 404, "nope-1"},
		{"another environment's pod", subscribe("w2", "pod", other, "container", "web"), 404, other},
		{"unknown container", subscribe("w2", "pod", f.pod(t, "w2"), "container", "db"), 404, "db"},
		{"unknown service", subscribe("w2", "service", "db"), 404, "db"},
		{"tails too many", subscribe("w2", "service", "web", "tails", 10001), 400, "tails"},
		{"tails negative", subscribe("w2", "service", "web", "tails", -1), 400, "tails"},
		{"tails not a number", subscribe("w2", "service", "web", "tails", "x"), 400, "tails"},
		{"pod and service", subscribe("w2", "service", "web", "pod", other), 400, "pod"},
		{"neither", subscribe("w2"), 400, "pod"},
		{"bad since", subscribe("w2", "service", "web", "since", "yesterday"), 400, "since"},
		{"bad id", subscribe("w2", "service", "web", "id", "a b"), 400, "id"},
		{"unknown field", subscribe("w2", "service", "web", "follow", true), 400, "follow"},
		{"unknown environment", subscribe("nope", "service", "web"), 404, "nope"},
		{"unknown action", map[string]any{"action": "tail"}, 400, "action"},
		{"no action", map[string]any{"pod": "x"}, 400, "action"},
		{"unsubscribe unknown", map[string]any{"action": "unsubscribe", "id": "zz"}, 404, "zz"},
	} {
		c.send(tc.msg)
		m := c.next("-", 10*time.Second)
		if m.Type != "error" || m.Status != tc.status || !strings.Contains(m.Message, tc.says) {
			t.Errorf("%s: %+v", tc.name, m)
		}
	}
	// A connection holds at most five subscriptions.
	for i := 0; i < 6; i++ {
		c.send(subscribe("w2", "service", "web", "tails", 0))
		m := c.next("-", 10*time.Second)
		if want := map[bool]string{true: "subscribed", false: "error"}[i < 5]; m.Type != want {
			t.Fatalf("subscription %d: %+v", i+1, m)
		}
	}
	// And a user at most twenty, over all their connections.
	for i := 5; i < 21; i++ {
		if i%5 == 0 {
			c = dial(t, f.e, lt.Alice)
		}
		c.send(subscribe("w2", "service", "web", "tails", 0))
		m := c.next("-", 10*time.Second)
		if i < 20 && m.Type != "subscribed" || i == 20 && (m.Type != "error" || m.Status != 409 || !strings.Contains(m.Message, "20")) {
			t.Fatalf("subscription %d of alice: %+v", i+1, m)
		}
	}
	// Another user is not bound by alice's.
	c = dial(t, f.e, lt.Bob)
	c.send(subscribe("w2", "service", "web", "tails", 0))
	if m := c.next("-", 10*time.Second); m.Type != "subscribed" {
		t.Fatalf("bob: %+v", m)
	}
}
