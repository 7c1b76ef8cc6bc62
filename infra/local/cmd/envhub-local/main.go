// Command envhub-local runs every envhub function locally (make run), mints
// tokens for its JWT authorizer (make token) and runs the scheduled
// maintenance now (make maintain).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/envhub/envhub/infra/local"
	"github.com/envhub/envhub/shared/deps"
	"github.com/envhub/envhub/shared/workflow"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: envhub-local serve|token|maintain [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "token":
		err = token(os.Args[2:])
	case "maintain":
		err = maintain(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: use serve, token or maintain", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "envhub-local:", err)
		os.Exit(1)
	}
}

func stateDir(fs *flag.FlagSet) *string {
	def := os.Getenv("ENVHUB_STATE")
	if def == "" {
		home, _ := os.UserCacheDir()
		def = filepath.Join(home, "envhub", "state")
	}
	return fs.String("state", def, "directory for the local signing and encryption keys")
}

func token(args []string) error {
	fs := flag.NewFlagSet("token", flag.ExitOnError)
	state := stateDir(fs)
	sub := fs.String("sub", "dev", "subject (user id)")
	role := fs.String("role", "", `role claim; "admin" makes an admin`)
	ttl := fs.Duration("ttl", 12*time.Hour, "lifetime")
	_ = fs.Parse(args)
	a, err := local.LoadAuthorizer(filepath.Join(*state, "jwt-es256.pem"))
	if err != nil {
		return err
	}
	t, err := a.Mint(*sub, *role, *ttl)
	if err != nil {
		return err
	}
	fmt.Println(t)
	return nil
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	state := stateDir(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	ddb := fs.String("dynamodb", "http://127.0.0.1:8000", "DynamoDB Local endpoint")
	table := fs.String("table", "envhub", "table name")
	k8s := fs.String("cluster", "", "directory of a local control plane (scripts/k8s-up.sh) to register as runtime env \"local\"")
	_ = fs.Parse(args)
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Listen first: the state machines' tasks call back into this server.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	creds, err := local.LoadCredentials(filepath.Join(*state, "lambda-credentials"))
	if err != nil {
		return err
	}
	d, err := deps.Load(ctx, local.Config(deps.Config{
		Table: *table, DynamoEndpoint: *ddb, KeyFile: filepath.Join(*state, "credential.key"),
	}, url, creds))
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "==> creating table %s from template.yaml\n", *table)
	if err := local.EnsureTable(ctx, d.DB, *table); err != nil {
		return err
	}
	a, err := local.LoadAuthorizer(filepath.Join(*state, "jwt-es256.pem"))
	if err != nil {
		return err
	}
	fns, err := local.Functions(d)
	if err != nil {
		return err
	}
	sockets, err := local.SocketFunctions(d)
	if err != nil {
		return err
	}
	tasks := local.TaskHandlers(d)
	srv, err := local.NewServer(a, fns, sockets, tasks, creds)
	if err != nil {
		return err
	}
	defer srv.Close()
	go schedule(ctx, tasks["maintenance"], 5*time.Minute) // template.yaml's EventBridge schedule
	tok, err := a.Mint("dev", "admin", 12*time.Hour)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	if *k8s != "" {
		fmt.Fprintln(os.Stderr, "==> registering the local cluster as runtime env \"local\"")
		id, err := local.RegisterCluster(ctx, url, tok, *k8s)
		if err != nil {
			return fmt.Errorf("register the local cluster: %w", err)
		}
		fmt.Printf("\nRuntime env \"local\" (%s) is the local Kubernetes control plane, credential attached.\n", id)
	}
	fmt.Printf("\nenvhub is serving at %s\n\nA token for user \"dev\" (admin), valid 12h:\n\n  export TOKEN=%s\n\nTry:\n  curl -s -H \"Authorization: Bearer $TOKEN\" %s/v1/runtime_envs\n\nLive logs (WebSocket API): ws%s/%s?token=$TOKEN (README: \"Live logs\")\n\nOther users: make token SUB=alice (add ROLE=admin for an admin). Ctrl-C stops everything.\n\n", url, tok, url, strings.TrimPrefix(url, "http"), local.Stage)
	<-ctx.Done()
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	defer func() { _ = d.Workflow.(*workflow.Local).Close() }()
	return hs.Shutdown(shut)
}

// schedule runs a task every period, as an EventBridge schedule would.
func schedule(ctx context.Context, task workflow.Task, period time.Duration) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if out, err := task(ctx, []byte(`{"source":"aws.events"}`)); err != nil {
				slog.Error("maintenance", "err", err)
			} else {
				slog.Info("maintenance", "report", out)
			}
		}
	}
}

// maintain invokes the running local server's maintenance function now,
// through its Lambda Invoke API, signed as the state machines sign.
func maintain(args []string) error {
	fs := flag.NewFlagSet("maintain", flag.ExitOnError)
	state := stateDir(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "the local server's address")
	_ = fs.Parse(args)
	creds, err := local.LoadCredentials(filepath.Join(*state, "lambda-credentials"))
	if err != nil {
		return err
	}
	body := []byte(`{"source":"envhub.maintain"}`)
	req, err := http.NewRequest(http.MethodPost, "http://"+*addr+"/2015-03-31/functions/maintenance/invocations", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if err := creds.Sign(req, body, "lambda"); err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("is make run serving at %s? %w", *addr, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Amz-Function-Error") != "" {
		return fmt.Errorf("maintenance: %s %s", resp.Status, out)
	}
	fmt.Printf("%s", out)
	return nil
}
