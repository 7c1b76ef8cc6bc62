package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/netguard"
)

// Records is what connecting reads from the store.
type Records interface {
	GetRuntimeEnv(ctx context.Context, id string) (*model.RuntimeEnv, error)
	GetCredential(ctx context.Context, id string) (*model.Credential, error)
}

// Connector connects to kubernetes runtime envs with their attached
// credential. Timeout bounds every request (Timeout when zero): a function
// answering API Gateway must give up well before its own 29 s.
type Connector struct {
	Records Records
	Opener  Opener
	Policy  netguard.Policy
	Timeout time.Duration
}

// pairReader reads a runtime env with the credential it was last seen
// attached with, in one round trip (the store does).
type pairReader interface {
	RuntimeEnvCredential(ctx context.Context, envID, credID string) (*model.RuntimeEnv, *model.Credential, error)
}

// attached remembers the credential each runtime env was last seen with.
var attached sync.Map

// Attached is the credential this process last saw attached to a runtime
// env (a request may read both ahead, in one round trip with others).
func Attached(runtimeEnvID string) (string, bool) {
	id, ok := attached.Load(runtimeEnvID)
	if !ok {
		return "", false
	}
	return id.(string), true
}

// connections keeps clients (and their discovery caches) across requests
// and tasks of a warm process, keyed by everything that would change them.
var connections sync.Map

// Connect connects to a kubernetes runtime env.
func (c Connector) Connect(ctx context.Context, runtimeEnvID string) (*Cluster, error) {
	env, cred, err := c.records(ctx, runtimeEnvID)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("%s@%d|%s@%d|%v|%v", env.ID, env.Version, cred.ID, cred.Version, c.Policy, c.Timeout)
	if cl, ok := connections.Load(key); ok {
		latest.Store(c.latestKey(runtimeEnvID), cl)
		return cl.(*Cluster), nil
	}
	cl, err := ForRuntimeEnv(ctx, env, cred, c.Opener, c.Policy)
	if err != nil {
		return nil, err
	}
	if c.Timeout > 0 {
		cl.Config.Timeout = c.Timeout
		if cl, err = FromConfig(cl.Config); err != nil {
			return nil, err
		}
	}
	connections.Store(key, cl)
	latest.Store(c.latestKey(runtimeEnvID), cl)
	return cl, nil
}

// latest is the client each runtime env was last connected with.
var latest sync.Map

func (c Connector) latestKey(runtimeEnvID string) string {
	return fmt.Sprintf("%s|%v|%v", runtimeEnvID, c.Policy, c.Timeout)
}

// Last is the client this process last connected to a runtime env with,
// unchecked: a read may start with it while Connect checks the runtime env
// and its credential, and be used only if Connect returns the same client.
func (c Connector) Last(runtimeEnvID string) (*Cluster, bool) {
	cl, ok := latest.Load(c.latestKey(runtimeEnvID))
	if !ok {
		return nil, false
	}
	return cl.(*Cluster), true
}

// records reads a runtime env and its attached credential, both fresh: in
// one round trip when the credential is the one last seen attached.
func (c Connector) records(ctx context.Context, runtimeEnvID string) (*model.RuntimeEnv, *model.Credential, error) {
	var env *model.RuntimeEnv
	var cred *model.Credential
	var err error
	last, known := attached.Load(runtimeEnvID)
	pr, ok := c.Records.(pairReader)
	if known && ok {
		env, cred, err = pr.RuntimeEnvCredential(ctx, runtimeEnvID, last.(string))
	} else {
		env, err = c.Records.GetRuntimeEnv(ctx, runtimeEnvID)
	}
	if err != nil {
		return nil, nil, err
	}
	if env.CredentialID == "" {
		return nil, nil, errs.Conflict("cluster_id: runtime env %s has no credential attached", runtimeEnvID)
	}
	if cred == nil || cred.ID != env.CredentialID {
		if cred, err = c.Records.GetCredential(ctx, env.CredentialID); err != nil {
			return nil, nil, err
		}
	}
	attached.Store(runtimeEnvID, env.CredentialID)
	return env, cred, nil
}

// UID is the cluster's identity: the UID of its kube-system namespace,
// which no re-registration, endpoint or credential changes. Read once per connection.
func (c *Cluster) UID(ctx context.Context) (string, error) {
	c.uidOnce.Lock()
	defer c.uidOnce.Unlock()
	if c.uid != "" {
		return c.uid, nil
	}
	ns, err := c.Typed.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("read the cluster's identity (namespace kube-system): %w", Err(err))
	}
	c.uid = string(ns.UID)
	return c.uid, nil
}
