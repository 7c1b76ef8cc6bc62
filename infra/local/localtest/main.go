package localtest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/envhub/envhub/infra/samtemplate"
)

// Main runs a package's tests against DynamoDB Local: the one make test
// started (DYNAMODB_ENDPOINT), else one started here, in memory, from the
// copy make test installed, and stopped after (as controller-runtime's
// envtest starts its control plane). So `go test ./functions/label/` works
// on its own. Call it from the package's TestMain.
func Main(m *testing.M) { os.Exit(run(m, false)) }

// MainWithCluster is Main for packages that also need the local Kubernetes
// control plane (ENVHUB_K8S_DIR), started from make test's cached binaries
// if it is not running.
func MainWithCluster(m *testing.M) { os.Exit(run(m, true)) }

func run(m *testing.M, withCluster bool) int {
	scripts := filepath.Join(filepath.Dir(samtemplate.Path()), "scripts")
	if os.Getenv("DYNAMODB_ENDPOINT") == "" {
		port, err := freePort()
		if err != nil {
			return fail(err)
		}
		stop, err := start(exec.Command("bash", filepath.Join(scripts, "dynamodb-local.sh"), "start", strconv.Itoa(port)))
		if err != nil {
			return fail(err)
		}
		defer stop()
		url := fmt.Sprintf("http://127.0.0.1:%d", port)
		if err := until(60*time.Second, func() bool { _, err := http.Get(url); return err == nil }); err != nil {
			return fail(fmt.Errorf("DynamoDB Local did not start: %w", err))
		}
		os.Setenv("DYNAMODB_ENDPOINT", url)
	}
	if withCluster && os.Getenv("ENVHUB_K8S_DIR") == "" {
		dir, err := os.MkdirTemp("", "envhub-k8s-")
		if err != nil {
			return fail(err)
		}
		defer os.RemoveAll(dir)
		stop, err := start(exec.Command("bash", filepath.Join(scripts, "k8s-up.sh"), dir))
		if err != nil {
			return fail(err)
		}
		defer stop()
		if err := until(3*time.Minute, func() bool { _, err := os.Stat(filepath.Join(dir, "ready")); return err == nil }); err != nil {
			return fail(fmt.Errorf("the local control plane did not start (see %s/logs): %w", dir, err))
		}
		os.Setenv("ENVHUB_K8S_DIR", dir)
	}
	return m.Run()
}

// start runs cmd in its own process group; stop ends it (TERM, then KILL).
func start(cmd *exec.Cmd) (stop func(), err error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w (run make test once: it installs what the tests need)", cmd, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	return func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}, nil
}

func until(limit time.Duration, ok func() bool) error {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if ok() {
			return nil
		}
	}
	return fmt.Errorf("not ready after %v", limit)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "localtest:", err)
	return 1
}
