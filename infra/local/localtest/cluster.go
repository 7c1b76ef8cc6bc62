package localtest

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Cluster is the local control plane make test starts (scripts/k8s-up.sh).
type Cluster struct {
	Dir         string
	Server      string
	Token       string // system:masters
	ViewerToken string // authenticated, no rights
	CAData      string // base64 PEM, as in a kubeconfig
	Kubeconfig  string
}

// LocalCluster returns the running local control plane; tests that need
// one fail (never skip) without it.
func LocalCluster(t testing.TB) *Cluster {
	t.Helper()
	dir := os.Getenv("ENVHUB_K8S_DIR")
	if dir == "" {
		t.Fatal("ENVHUB_K8S_DIR is not set: run the tests with `make test`, which starts the local control plane")
	}
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("local cluster: %v", err)
		}
		return strings.TrimSpace(string(data))
	}
	return &Cluster{
		Dir: dir, Server: read("server"), Token: read("token"), ViewerToken: read("viewer-token"),
		CAData: base64.StdEncoding.EncodeToString([]byte(read("ca.crt") + "\n")), Kubeconfig: read("kubeconfig"),
	}
}

// Content is a {server, token, certificate_authority_data} credential for the cluster.
func (c *Cluster) Content() map[string]string {
	return map[string]string{"server": c.Server, "token": c.Token, "certificate_authority_data": c.CAData}
}
