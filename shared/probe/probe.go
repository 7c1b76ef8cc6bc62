// Package probe validates runtime envs and credentials live, against the
// endpoint they name ("validate URL", "validate credential").
package probe

import (
	"context"
	"errors"
	"slices"

	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/netguard"
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
	Policy    netguard.Policy // what kubernetes endpoints may be dialled
}

// Endpoint checks an env's endpoint before any credential exists. Neither
// runtime can be checked meaningfully then: QingCloud answers only signed
// requests, and a cluster's TLS can only be verified with the CA that comes
// with its credential. Both are checked live when a credential is attached.
func (p Probes) Endpoint(ctx context.Context, env *model.RuntimeEnv) error {
	return nil
}

// Credential checks that content reaches env. qingcloud: a signed
// DescribeZones that must list the env's zone as active. kubernetes: the
// endpoint answers /version with TLS verified against the credential's CA,
// then a SelfSubjectReview and a SelfSubjectAccessReview (may it create
// namespaces?) with the credential.
func (p Probes) Credential(ctx context.Context, env *model.RuntimeEnv, content map[string]string) error {
	switch env.Runtime {
	case model.QingCloud:
		zones, err := p.QingCloud.ActiveZones(ctx, env.Endpoint, content["access_key_id"], content["secret_access_key"])
		switch {
		case errors.Is(err, qingcloud.ErrRejected):
			return errs.Invalid("content", "was rejected by %s: %v", env.Endpoint, err)
		case err != nil:
			return errs.Invalid("endpoint", "cannot be reached to validate the credential: %v", err)
		case !slices.Contains(zones, env.Zone):
			return errs.Invalid("zone", "%q is not an active zone of %s (active: %v)", env.Zone, env.Endpoint, zones)
		}
	case model.Kubernetes:
		c, err := cluster.New(env.Endpoint, content, p.Policy)
		if err != nil {
			return err
		}
		if _, err := c.ServerVersion(ctx); err != nil {
			return kubeErr(env, err)
		}
		if _, err := c.Identity(ctx); err != nil {
			return kubeErr(env, err)
		}
	}
	return nil
}

// kubeErr turns a failed live check into the 400 the caller can act on.
func kubeErr(env *model.RuntimeEnv, err error) error {
	switch {
	case errors.Is(err, cluster.ErrUnreachable):
		return errs.Invalid("endpoint", "%s cannot be reached with this credential (TLS checked against its CA): %v", env.Endpoint, err)
	case errors.Is(err, errs.ErrForbidden):
		return errs.Invalid("content", "%v", err)
	}
	return errs.Invalid("content", "the cluster did not accept the credential: %v", err)
}
