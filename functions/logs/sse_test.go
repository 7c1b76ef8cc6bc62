package logs_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envhub/envhub/functions/logs"
	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/shared/cluster"
)

const webTemplate = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "nginx:1.27"}
`

const project = "lg"

type fixture struct {
	e   *lt.Env
	c   *cluster.Cluster
	log string // the file kwok serves every pod's log from
}

func pk() url.Values { return url.Values{"projectKey": {project}} }

// setup makes project "lg" (alice's, public) with a service "web" and the
// environments keys name, each running one web pod.
func setup(t testing.TB, keys ...string) fixture {
	t.Helper()
	e := lt.New(t)
	id, c := e.LocalRuntimeEnv(t)
	lt.Success(t, e.Call(lt.Alice, "CreateProject", lt.Req{Body: map[string]any{"project_key": project, "visibility": "public"}}))
	lt.Success(t, e.Call(lt.Alice, "CreateServiceTemplate", lt.Req{Query: pk(), Body: map[string]any{"service_name": "web", "yaml": webTemplate}}))
	f := fixture{e, c, filepath.Join(lt.LocalCluster(t).Dir, "pod.log")}
	for _, key := range keys {
		ns := project + "-env-" + key
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_ = c.DeleteNamespace(ctx, ns, true) // a run before this one's
		cancel()
		t.Cleanup(func() { _ = c.DeleteNamespace(context.Background(), ns, false) })
		r := e.Call(lt.Alice, "CreateEnvironment", lt.Req{Query: pk(), Body: map[string]any{"env_key": key, "cluster_id": id,
			"services": []map[string]any{{"service_name": "web", "type": "k8s", "containers": []map[string]any{}}}}})
		if done := e.Ended(t, lt.Alice, r, 200*time.Millisecond); done["status"] != "succeeded" {
			t.Fatalf("create ended %v", done)
		}
	}
	return f
}

// pod is the name of the environment's web pod.
func (f fixture) pod(t testing.TB, key string) string {
	t.Helper()
	pods, err := f.c.Typed.CoreV1().Pods(project+"-env-"+key).List(context.Background(), metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("pods: %v %v", pods, err)
	}
	return pods.Items[0].Name
}

// write appends lines to the log, timestamped now.
func (f fixture) write(t *testing.T, lines ...string) {
	t.Helper()
	out, err := os.OpenFile(f.log, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	at := time.Now().UTC().Format(time.RFC3339Nano)
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(at + " stdout F " + l + "\n")
	}
	if _, err := out.WriteString(b.String()); err != nil { // one append: no other writer's lines within
		t.Fatal(err)
	}
}

type sse struct{ id, data string }

// parse reads SSE events (comments skipped) from an answer's body.
func parse(body string) []sse {
	var out []sse
	for _, block := range strings.Split(body, "\n\n") {
		var ev sse
		for _, line := range strings.Split(block, "\n") {
			if v, ok := strings.CutPrefix(line, "id: "); ok {
				ev.id = v
			} else if v, ok := strings.CutPrefix(line, "data: "); ok {
				ev.data = v
			}
		}
		if ev.id != "" {
			out = append(out, ev)
		}
	}
	return out
}

func logsReq(key, pod, container string, q url.Values) lt.Req {
	query := url.Values{"projectKey": {project}, "envName": {key}}
	for k, v := range q {
		query[k] = v
	}
	return lt.Req{Path: map[string]string{"pod": pod, "container": container}, Query: query}
}

// Behind the HTTP API (which buffers answers) the route answers the last
// tails lines, each an event whose id is its cursor, and ends; a client
// coming back with Last-Event-ID gets exactly the lines after it.
func TestSSEBuffered(t *testing.T) {
	f := setup(t, "l1")
	pod := f.pod(t, "l1")
	var evs []sse
	// Another test may append to the shared log file meanwhile: try again
	// until the tail is this test's lines alone.
	for try := 0; try < 5; try++ {
		mark := fmt.Sprintf("m%d", time.Now().UnixNano())
		f.write(t, "one "+mark, "two "+mark, "three "+mark)
		r := f.e.Call(lt.Alice, "GetContainerLogs", logsReq("l1", pod, "web", url.Values{"tails": {"3"}}))
		if r.Status != 200 {
			t.Fatalf("logs: %d %s", r.Status, r.Raw)
		}
		if evs = parse(r.Raw); len(evs) == 3 && strings.Contains(evs[0].data, mark) && strings.Contains(evs[2].data, mark) {
			break
		}
	}
	if len(evs) != 3 || !strings.HasPrefix(evs[0].data, "one ") || !strings.HasPrefix(evs[2].data, "three ") {
		t.Fatalf("tail 3: %+v", evs)
	}
	req := logsReq("l1", pod, "web", nil)
	req.Headers = map[string]string{"Last-Event-ID": evs[0].id}
	r := f.e.Call(lt.Alice, "GetContainerLogs", req)
	rest := parse(r.Raw)
	if len(rest) < 2 || rest[0] != evs[1] || rest[1] != evs[2] {
		t.Fatalf("after %s: %+v", evs[0].id, rest)
	}
	// A cursor from long ago reads no more than the largest tail.
	many := make([]string, logs.MaxTails+50)
	for i := range many {
		many[i] = fmt.Sprintf("filler %d", i)
	}
	f.write(t, many...)
	req.Headers = map[string]string{"Last-Event-ID": "1970-01-01T00:00:00Z/1"}
	r = f.e.Call(lt.Alice, "GetContainerLogs", req)
	if n := len(parse(r.Raw)); r.Status != 200 || n > logs.MaxTails+1 || n < logs.MaxTails {
		t.Fatalf("a cursor from 1970 answered %d events (status %d)", n, r.Status)
	}
}

// Bad input is a 4xx naming it; other environments' pods are not found.
func TestSSERefusals(t *testing.T) {
	f := setup(t, "l2", "l3")
	pod, other := f.pod(t, "l2"), f.pod(t, "l3")
	lt.Success(t, f.e.Call(lt.Alice, "CreateProject", lt.Req{Body: map[string]any{"project_key": "lgp", "visibility": "private"}}))
	bad := func(q url.Values) lt.Req { return logsReq("l2", pod, "web", q) }
	for name, c := range map[string]struct {
		who    lt.User
		req    lt.Req
		status int
		says   string
	}{
		"tails negative":          {lt.Alice, bad(url.Values{"tails": {"-1"}}), 400, "tails"},
		"tails too many":          {lt.Alice, bad(url.Values{"tails": {"10001"}}), 400, "tails"},
		"tails not a number":      {lt.Alice, bad(url.Values{"tails": {"x"}}), 400, "tails"},
		"unknown parameter":       {lt.Alice, bad(url.Values{"follow": {"1"}}), 400, "follow"},
		"no envName":              {lt.Alice, lt.Req{Path: map[string]string{"pod": pod, "container": "web"}, Query: pk()}, 400, "envName"},
		"unknown pod":             {lt.Alice, logsReq("l2", "web-nope", "web", nil), 404, "web-nope"},
		"another env's pod":       {lt.Alice, logsReq("l2", other, "web", nil), 404, other},
		"unknown container":       {lt.Alice, logsReq("l2", pod, "nope", nil), 404, "nope"},
		"bad pod name":            {lt.Alice, logsReq("l2", "Web!", "web", nil), 400, "pod"},
		"bad container name":      {lt.Alice, logsReq("l2", pod, "Web!", nil), 400, "container"},
		"bad Last-Event-ID":       {lt.Alice, lt.Req{Path: map[string]string{"pod": pod, "container": "web"}, Query: url.Values{"projectKey": {project}, "envName": {"l2"}}, Headers: map[string]string{"Last-Event-ID": "yesterday"}}, 400, "Last-Event-ID"},
		"unknown env":             {lt.Alice, logsReq("nosuch", pod, "web", nil), 404, "nosuch"},
		"a project bob can't see": {lt.Bob, lt.Req{Path: map[string]string{"pod": pod, "container": "web"}, Query: url.Values{"projectKey": {"lgp"}, "envName": {"l2"}}}, 404, "lgp"},
	} {
		t.Run(name, func(t *testing.T) {
			lt.Failed(t, f.e.Call(c.who, "GetContainerLogs", c.req), c.status, c.says)
		})
	}
}

// Where the answer streams (the local server, as a Function URL in
// RESPONSE_STREAM mode) the route follows the log: new lines arrive as
// they are written, an idle stream gets keep-alive comments, and a client
// reconnecting with Last-Event-ID resumes exactly after its last line.
func TestSSEFollows(t *testing.T) {
	f := setup(t, "l4")
	pod := f.pod(t, "l4")
	tok := f.e.Token(t, lt.Alice)
	old := logs.KeepAlive
	logs.KeepAlive = 300 * time.Millisecond
	defer func() { logs.KeepAlive = old }()
	mark := fmt.Sprintf("f%d", time.Now().UnixNano())

	open := func(lastID string) (*bufio.Reader, func()) {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", f.e.URL+"/openapi/logs/sse/pods/"+pod+"/containers/web?projectKey="+project+"&envName=l4&tails=0", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("open: %v %v", resp, err)
		}
		return bufio.NewReader(resp.Body), func() { cancel(); resp.Body.Close() }
	}
	// next reads the next event carrying mark, noting keep-alives on the way.
	keepAlives := 0
	next := func(r *bufio.Reader) sse {
		var ev sse
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("stream ended: %v", err)
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == ": keep-alive":
				keepAlives++
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			case line == "" && ev.id != "":
				if strings.Contains(ev.data, mark) {
					return ev
				}
				ev = sse{}
			}
		}
	}
	r, stop := open("")
	time.Sleep(time.Second) // idle: keep-alives
	f.write(t, "a "+mark, "b "+mark, "c "+mark)
	a1, b1 := next(r), next(r)
	c1 := next(r)
	stop()
	if !strings.HasPrefix(a1.data, "a ") || !strings.HasPrefix(b1.data, "b ") || !strings.HasPrefix(c1.data, "c ") || keepAlives == 0 {
		t.Fatalf("followed %+v %+v %+v, %d keep-alives", a1, b1, c1, keepAlives)
	}
	// Reconnect after b: c again (the client never acknowledged it), then new lines.
	r, stop = open(b1.id)
	defer stop()
	if got := next(r); got != c1 {
		t.Fatalf("resumed with %+v, want %+v", got, c1)
	}
	f.write(t, "d "+mark)
	if got := next(r); !strings.HasPrefix(got.data, "d ") {
		t.Fatalf("then %+v", got)
	}
}
