package cluster

import (
	"context"
	"fmt"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/netguard"
)

// Opener decrypts a credential's sealed content (secrets.Sealer does).
type Opener interface {
	Open(ctx context.Context, id string, sealed []byte) (map[string]string, error)
}

// ForRuntimeEnv connects to a kubernetes runtime env with the credential attached to it.
func ForRuntimeEnv(ctx context.Context, env *model.RuntimeEnv, cred *model.Credential, open Opener, policy netguard.Policy) (*Cluster, error) {
	switch {
	case env.Runtime != model.Kubernetes:
		return nil, errs.Invalid("cluster_id", "runtime env %s runs %s, not kubernetes", env.ID, env.Runtime)
	case env.Status != model.StatusActive:
		return nil, errs.NotFound("runtime_env", env.ID)
	case env.CredentialID == "" || cred == nil || cred.ID != env.CredentialID:
		return nil, errs.Conflict("runtime env %s has no credential attached", env.ID)
	}
	content, err := open.Open(ctx, cred.ID, cred.Sealed)
	if err != nil {
		return nil, fmt.Errorf("open credential %s: %w", cred.ID, err)
	}
	return New(env.Endpoint, content, policy)
}
