// Package probe validates runtime envs and credentials live, against the
// endpoint they name ("validate URL", "validate credential").
package probe

import (
	"context"
	"errors"
	"slices"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/qingcloud"
)

// QingCloud is the part of the QingCloud client a probe uses.
type QingCloud interface {
	ActiveZones(ctx context.Context, endpoint, accessKeyID, secretAccessKey string) ([]string, error)
}

var _ QingCloud = (*qingcloud.Client)(nil)

// Probes holds one live check per runtime.
type Probes struct {
	QingCloud QingCloud
	// Kubernetes live checks (GET /version, SelfSubjectReview and
	// SelfSubjectAccessReview) come with the client-go cluster adapter; until
	// then kubernetes envs get only the static endpoint checks.
}

// Endpoint checks an env's endpoint before any credential exists. A QingCloud
// endpoint cannot be reached unsigned, so it is checked when a credential is attached.
func (p Probes) Endpoint(ctx context.Context, env *model.RuntimeEnv) error {
	return nil
}

// Credential checks that content reaches env: for qingcloud a signed
// DescribeZones that must list the env's zone as active.
func (p Probes) Credential(ctx context.Context, env *model.RuntimeEnv, content map[string]string) error {
	switch env.Runtime {
	case model.QingCloud:
		zones, err := p.QingCloud.ActiveZones(ctx, env.Endpoint, content["access_key_id"], content["secret_access_key"])
		switch {
		case errors.Is(err, qingcloud.ErrRejected):
			return api.Invalid("content", "was rejected by %s: %v", env.Endpoint, err)
		case err != nil:
			return api.Invalid("endpoint", "cannot be reached to validate the credential: %v", err)
		case !slices.Contains(zones, env.Zone):
			return api.Invalid("zone", "%q is not an active zone of %s (active: %v)", env.Zone, env.Endpoint, zones)
		}
	}
	return nil
}
