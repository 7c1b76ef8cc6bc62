// Package probe validates runtime envs and credentials live, against the
// endpoint they name ("validate URL", "validate credential").
package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

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
//
// The endpoint is the caller's choice, so a failure's 400 says what kind of
// failure it was in envhub's words and never quotes what the endpoint sent:
// Timeout bounds one live check, all of its calls: requests that probe
// answer API Gateway within its 29 s.
const Timeout = 8 * time.Second

// otherwise pointing an endpoint at an internal service would read it back.
func (p Probes) Credential(ctx context.Context, env *model.RuntimeEnv, content map[string]string) error {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	switch env.Runtime {
	case model.QingCloud:
		// The client's errors quote nothing the endpoint sent (see its callError).
		zones, err := p.QingCloud.ActiveZones(ctx, env.Endpoint, content["access_key_id"], content["secret_access_key"])
		switch {
		case errors.Is(err, qingcloud.ErrRejected):
			return errs.Invalid("content", "was rejected by %s: %v", env.Endpoint, err)
		case err != nil:
			return errs.Invalid("endpoint", "cannot be reached to validate the credential: %v", err)
		case !slices.Contains(zones, env.Zone):
			return errs.Invalid("zone", "%q is not an active zone of %s (active: %v)", env.Zone, env.Endpoint, zoneIDs(zones))
		}
	case model.Kubernetes:
		cfg, err := cluster.RESTConfig(env.Endpoint, content, p.Policy)
		if err != nil {
			return err
		}
		var rec recorder
		cfg.Wrap(rec.wrap)
		c, err := cluster.FromConfig(cfg)
		if err != nil {
			return err
		}
		if _, err := c.ServerVersion(ctx); err != nil {
			return kubeErr(env, err, rec.last())
		}
		if _, err := c.Identity(ctx); err != nil {
			return kubeErr(env, err, rec.last())
		}
	}
	return nil
}

// kubeErr turns a failed live check into the 400 the caller can act on,
// from what the last round trip got rather than from err's text, which
// client-go fills with the response body when it is not a Kubernetes Status.
func kubeErr(env *model.RuntimeEnv, err error, a answer) error {
	ep := env.Endpoint
	switch {
	case a.err != nil:
		return errs.Invalid("endpoint", "%s cannot be reached with this credential: %s", ep, netguard.Failure(a.err))
	case a.status == 0:
		return errs.Invalid("endpoint", "%s cannot be reached with this credential: no answer", ep)
	case a.status/100 == 2 && errors.Is(err, errs.ErrForbidden):
		// The access review answered, and it says no.
		return errs.Invalid("content", "the credential may not %s namespaces on %s, which every environment needs", strings.Join(cluster.NamespaceVerbs, ", "), ep)
	case a.status/100 == 2:
		return errs.Invalid("endpoint", "%s is not a Kubernetes apiserver: it answered HTTP status code %d, but not as one", ep, a.status)
	case !a.kube:
		return errs.Invalid("endpoint", "%s is not a Kubernetes apiserver: it answered HTTP status code %d without a Kubernetes Status", ep, a.status)
	case a.status == 401 || a.status == 403:
		return errs.Invalid("content", "the credential was rejected by %s: HTTP status code %d%s", ep, a.status, a.reasonText())
	}
	return errs.Invalid("endpoint", "%s answered HTTP status code %d%s", ep, a.status, a.reasonText())
}

// zoneIDs keeps only ids shaped like QingCloud zone ids, for a message
// that lists them: anything else would be the endpoint's text.
func zoneIDs(zones []string) []string {
	out := []string{}
	for _, z := range zones {
		if zoneID.MatchString(z) && len(out) < 20 {
			out = append(out, z)
		}
	}
	return out
}

var zoneID = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// answer is what one round trip to a cluster got: a transport error, or an
// HTTP status and, for a failure status, whether the body was a Kubernetes
// Status and its reason. Nothing else of the body is kept.
type answer struct {
	err    error
	status int
	kube   bool
	reason string // the Status reason, only if short and a plain word
}

// reasonText is " (Reason)" when the Status gave a usable reason.
func (a answer) reasonText() string {
	if a.reason == "" {
		return ""
	}
	return " (" + a.reason + ")"
}

// recorder keeps the last answer of a client's round trips, so a failed
// check can be described from facts rather than from client-go's error text.
type recorder struct {
	mu sync.Mutex
	a  answer
}

func (r *recorder) last() answer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.a
}

// statusPeek bounds how much of a failure body is read to recognise a
// Status; real ones are far smaller.
const statusPeek = 64 << 10

// A Status reason is a CamelCase word (Unauthorized, Forbidden, NotFound...).
var reasonWord = regexp.MustCompile(`^[A-Z][A-Za-z]{0,39}$`)

func (r *recorder) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(req)
		a := answer{err: err}
		if err == nil {
			a.status = resp.StatusCode
			if resp.StatusCode/100 != 2 {
				a.kube, a.reason = peekStatus(resp)
			}
		}
		r.mu.Lock()
		r.a = a
		r.mu.Unlock()
		return resp, err
	})
}

// peekStatus reads the start of resp's body to tell whether it is a
// Kubernetes Status, and puts what it read back for client-go.
func peekStatus(resp *http.Response) (kube bool, reason string) {
	head, err := io.ReadAll(io.LimitReader(resp.Body, statusPeek))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	if err != nil {
		return false, ""
	}
	var st struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
		Reason     string `json:"reason"`
	}
	if json.Unmarshal(head, &st) != nil || st.Kind != "Status" || st.APIVersion != "v1" {
		return false, ""
	}
	if reasonWord.MatchString(st.Reason) {
		reason = st.Reason
	}
	return true, reason
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
