// Command envhub-local runs every envhub function locally (make run) and
// mints tokens for its JWT authorizer (make token).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/envhub/envhub/infra/local"
	"github.com/envhub/envhub/shared/deps"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: envhub-local serve|token [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "token":
		err = token(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: use serve or token", os.Args[1])
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
	d, err := deps.Load(ctx, deps.Config{
		Table: *table, DynamoEndpoint: *ddb, KeyFile: filepath.Join(*state, "credential.key"), AllowLoopback: true,
		Workflow: local.Workflow(url),
	})
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
	srv, err := local.NewServer(a, fns, local.TaskHandlers(d))
	if err != nil {
		return err
	}
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
	fmt.Printf("\nenvhub is serving at %s\n\nA token for user \"dev\" (admin), valid 12h:\n\n  export TOKEN=%s\n\nTry:\n  curl -s -H \"Authorization: Bearer $TOKEN\" %s/v1/runtime_envs\n\nOther users: make token SUB=alice (add ROLE=admin for an admin). Ctrl-C stops everything.\n\n", url, tok, url)
	<-ctx.Done()
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return hs.Shutdown(shut)
}
