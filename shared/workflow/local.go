package workflow

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
)

// Local runs executions on aws-local-stepfunctions (scripts/sfn/run.mjs),
// a real ASL engine, whose Lambda tasks call the local server's Lambda
// Invoke API: the same definitions AWS runs, no interpreter of our own.
// One engine process serves every execution, so none pays Node's start-up.
type Local struct {
	Runner         string            // path of run.mjs
	Definitions    map[string]string // machine name -> .asl.json path
	Substitutions  map[string]string // as template.yaml's DefinitionSubstitutions
	LambdaEndpoint string            // the local server's base URL
	AccessKeyID    string            // the credentials the engine signs its Lambda invocations with
	SecretKey      string

	mu      sync.Mutex
	engine  *engine
	running map[string]bool // executions Start began, by machine/name
}

var _ Runner = (*Local)(nil)

// engine is one `run.mjs --serve` process and the executions awaiting it.
type engine struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	exited  chan struct{}
	mu      sync.Mutex // guards stdin and waiting
	waiting map[string]chan ended
}

// ended is how an execution ended, as the engine reports it.
type ended struct {
	ID     string          `json:"id"`
	Output json.RawMessage `json:"output"`
	Error  string          `json:"error"`
	Cause  string          `json:"cause"`
}

// Start runs an execution in the background, as on AWS: it outlives the
// request, and its tasks record progress themselves. A second start of a
// running execution is a no-op.
func (l *Local) Start(_ context.Context, machine, name string, input []byte) error {
	key := machine + "/" + name
	l.mu.Lock()
	if l.running[key] {
		l.mu.Unlock()
		return nil
	}
	if l.running == nil {
		l.running = map[string]bool{}
	}
	l.running[key] = true
	l.mu.Unlock()
	done, err := l.submit(key, machine, input)
	if err != nil {
		l.forget(key)
		return err
	}
	go func() {
		r := <-done
		l.forget(key)
		if r.Error != "" {
			slog.Warn("local execution ended in failure", "machine", machine, "name", name, "error", r.Error, "cause", r.Cause)
		}
	}()
	return nil
}

func (l *Local) forget(key string) {
	l.mu.Lock()
	delete(l.running, key)
	l.mu.Unlock()
}

// Running tells whether this process runs the execution (a restarted
// local server runs none).
func (l *Local) Running(_ context.Context, machine, name string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.running[machine+"/"+name], nil
}

// Stop aborts the execution; it is not running from then on.
func (l *Local) Stop(_ context.Context, machine, name, _ string) error {
	key := machine + "/" + name
	l.forget(key)
	return l.send(map[string]string{"stop": key})
}

// Run runs an execution to its end and returns its output.
func (l *Local) Run(ctx context.Context, machine string, input []byte) ([]byte, error) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id := "run/" + hex.EncodeToString(b)
	done, err := l.submit(id, machine, input)
	if err != nil {
		return nil, err
	}
	select {
	case r := <-done:
		if r.Error != "" {
			return nil, &TaskError{Type: r.Error, Message: r.Cause}
		}
		return r.Output, nil
	case <-ctx.Done():
		_ = l.send(map[string]string{"stop": id})
		return nil, ctx.Err()
	}
}

// Close ends the engine process and every execution in it.
func (l *Local) Close() error {
	l.mu.Lock()
	e := l.engine
	l.engine = nil
	l.mu.Unlock()
	if e == nil {
		return nil
	}
	_ = e.stdin.Close() // the engine exits when its input ends
	<-e.exited
	return nil
}

// submit starts an execution in the engine; the channel tells how it ended.
func (l *Local) submit(id, machine string, input []byte) (<-chan ended, error) {
	def, ok := l.Definitions[machine]
	if !ok {
		return nil, fmt.Errorf("no state machine %q configured", machine)
	}
	if len(input) == 0 {
		input = []byte("{}")
	}
	e, err := l.ensureEngine()
	if err != nil {
		return nil, err
	}
	done := make(chan ended, 1)
	line, _ := json.Marshal(map[string]any{"id": id, "definition": def, "input": json.RawMessage(input)})
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.waiting == nil {
		return nil, errors.New("local state machine engine exited")
	}
	e.waiting[id] = done
	if _, err := e.stdin.Write(append(line, '\n')); err != nil {
		delete(e.waiting, id)
		return nil, fmt.Errorf("local state machine engine: %w", err)
	}
	return done, nil
}

// send writes a command to a running engine (none running: nothing to do).
func (l *Local) send(cmd any) error {
	l.mu.Lock()
	e := l.engine
	l.mu.Unlock()
	if e == nil {
		return nil
	}
	line, _ := json.Marshal(cmd)
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err := e.stdin.Write(append(line, '\n'))
	return err
}

// ensureEngine starts the engine process unless it runs.
func (l *Local) ensureEngine() (*engine, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.engine != nil {
		return l.engine, nil
	}
	args := []string{l.Runner, "--serve"}
	keys := make([]string, 0, len(l.Substitutions))
	for k := range l.Substitutions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, k+"="+l.Substitutions[k])
	}
	cmd := exec.Command("node", args...)
	cmd.Dir = filepath.Dir(l.Runner)
	cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL_LAMBDA="+l.LambdaEndpoint, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID="+l.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+l.SecretKey, "NODE_NO_WARNINGS=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the local state machine engine: %w", err)
	}
	e := &engine{cmd: cmd, stdin: stdin, exited: make(chan struct{}), waiting: map[string]chan ended{}}
	l.engine = e
	go l.read(e, stdout)
	return e, nil
}

// read delivers the engine's endings; when it exits, its executions end
// in failure and the next submit starts a new engine.
func (l *Local) read(e *engine, stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var r ended
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			continue
		}
		e.mu.Lock()
		done := e.waiting[r.ID]
		delete(e.waiting, r.ID)
		e.mu.Unlock()
		if done != nil {
			done <- r
		}
	}
	l.mu.Lock()
	if l.engine == e {
		l.engine = nil
	}
	l.mu.Unlock()
	e.mu.Lock()
	for id, done := range e.waiting {
		done <- ended{ID: id, Error: "EngineExited", Cause: "the local state machine engine exited"}
	}
	e.waiting = nil
	e.mu.Unlock()
	_ = e.cmd.Wait()
	close(e.exited)
}
