package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
type Local struct {
	Runner         string            // path of run.mjs
	Definitions    map[string]string // machine name -> .asl.json path
	Substitutions  map[string]string // as template.yaml's DefinitionSubstitutions
	LambdaEndpoint string            // the local server's base URL
	AccessKeyID    string            // the credentials the engine signs its Lambda invocations with
	SecretKey      string

	mu      sync.Mutex
	running map[string]*execution // by machine/name
}

type execution struct{ cancel context.CancelFunc }

var _ Runner = (*Local)(nil)

// Start runs an execution in the background, as on AWS: it outlives the
// request, and its tasks record progress themselves. A second start of a
// running execution is a no-op.
func (l *Local) Start(_ context.Context, machine, name string, input []byte) error {
	if _, ok := l.Definitions[machine]; !ok {
		return fmt.Errorf("no state machine %q configured", machine)
	}
	key := machine + "/" + name
	ctx, cancel := context.WithCancel(context.Background())
	x := &execution{cancel}
	l.mu.Lock()
	if _, ok := l.running[key]; ok {
		l.mu.Unlock()
		cancel()
		return nil
	}
	if l.running == nil {
		l.running = map[string]*execution{}
	}
	l.running[key] = x
	l.mu.Unlock()
	go func() {
		defer func() {
			l.mu.Lock()
			if l.running[key] == x {
				delete(l.running, key)
			}
			l.mu.Unlock()
			cancel()
		}()
		if _, err := l.Run(ctx, machine, input); err != nil {
			slog.Warn("local execution ended in failure", "machine", machine, "name", name, "err", err)
		}
	}()
	return nil
}

// Running tells whether this process runs the execution (a restarted
// local server runs none).
func (l *Local) Running(_ context.Context, machine, name string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.running[machine+"/"+name]
	return ok, nil
}

// Stop kills the execution's engine process; it is not running from then on.
func (l *Local) Stop(_ context.Context, machine, name, _ string) error {
	l.mu.Lock()
	x := l.running[machine+"/"+name]
	delete(l.running, machine+"/"+name)
	l.mu.Unlock()
	if x != nil {
		x.cancel()
	}
	return nil
}

// Run runs an execution to its end and returns its output.
func (l *Local) Run(ctx context.Context, machine string, input []byte) ([]byte, error) {
	def, ok := l.Definitions[machine]
	if !ok {
		return nil, fmt.Errorf("no state machine %q configured", machine)
	}
	args := []string{l.Runner, def}
	keys := make([]string, 0, len(l.Substitutions))
	for k := range l.Substitutions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, k+"="+l.Substitutions[k])
	}
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = filepath.Dir(l.Runner)
	cmd.Stdin = bytes.NewReader(input)
	cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL_LAMBDA="+l.LambdaEndpoint, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID="+l.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+l.SecretKey, "NODE_NO_WARNINGS=1")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		var failure struct{ Error, Cause string }
		if json.Unmarshal(bytes.TrimSpace(out.Bytes()), &failure) == nil && failure.Error != "" {
			return nil, &TaskError{Type: failure.Error, Message: failure.Cause}
		}
		return nil, fmt.Errorf("run %s: %v: %s", machine, err, stderr.String())
	}
	return bytes.TrimSpace(out.Bytes()), nil
}
