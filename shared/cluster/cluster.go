// Package cluster is the one client-go adapter every function uses to reach
// a kubernetes runtime env: typed, dynamic and server-side apply clients built
// from a runtime env and its credential, with errors in the API's model.
package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/netguard"
)

// FieldManager owns every field envhub applies.
const FieldManager = "envhub"

// Timeout bounds every single request to a cluster.
const Timeout = 30 * time.Second

// Cluster is a connection to one kubernetes runtime env.
type Cluster struct {
	Config  *rest.Config
	Typed   kubernetes.Interface
	Dynamic dynamic.Interface
	Mapper  meta.ResettableRESTMapper

	uidOnce sync.Mutex
	uid     string

	followOnce   sync.Once // logs.go's follower
	followClient kubernetes.Interface
	followErr    error
}

// RESTConfig builds the client config for endpoint from a credential's
// content: a self-contained kubeconfig, or server + token + CA. TLS is always
// verified, and every connection passes policy (no link-local or metadata
// addresses; loopback only for the local server).
func RESTConfig(endpoint string, content map[string]string, policy netguard.Policy) (*rest.Config, error) {
	if _, err := policy.CheckURL(endpoint); err != nil {
		return nil, errs.Invalid("endpoint", "%v", err)
	}
	var cfg *rest.Config
	switch {
	case content["kubeconfig"] != "":
		if _, err := model.CheckKubeconfig(content["kubeconfig"]); err != nil {
			return nil, err
		}
		c, err := clientcmd.RESTConfigFromKubeConfig([]byte(content["kubeconfig"]))
		if err != nil {
			return nil, errs.Invalid("content.kubeconfig", "%v", err)
		}
		cfg = c
	case content["token"] != "":
		ca, err := caPEM(content["certificate_authority_data"])
		if err != nil {
			return nil, err
		}
		cfg = &rest.Config{BearerToken: content["token"], TLSClientConfig: rest.TLSClientConfig{CAData: ca}}
	default:
		return nil, errs.Invalid("content", "is not a kubernetes credential")
	}
	if cfg.Insecure || cfg.ExecProvider != nil || cfg.AuthProvider != nil || cfg.BearerTokenFile != "" {
		return nil, errs.Invalid("content", "must verify TLS and carry only inline credentials")
	}
	cfg.Host = endpoint // the runtime env's endpoint is the one envhub reaches
	cfg.Timeout = Timeout
	cfg.Dial = policy.DialContext
	cfg.Proxy = nil
	cfg.QPS, cfg.Burst = 100, 200 // envhub applies many objects at once
	cfg.UserAgent = "envhub"
	cfg.WarningHandler = rest.NoWarnings{} // e.g. Pod Security's: what it refuses fails the operation instead
	return cfg, nil
}

// New connects to a runtime env with its credential content.
func New(endpoint string, content map[string]string, policy netguard.Policy) (*Cluster, error) {
	cfg, err := RESTConfig(endpoint, content, policy)
	if err != nil {
		return nil, err
	}
	return FromConfig(cfg)
}

// FromConfig builds the clients from a ready config.
func FromConfig(cfg *rest.Config) (*Cluster, error) {
	typed, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("typed client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	return &Cluster{
		Config: cfg, Typed: typed, Dynamic: dyn,
		Mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco)),
	}, nil
}

// ServerVersion returns the apiserver's version (GET /version).
func (c *Cluster) ServerVersion(ctx context.Context) (string, error) {
	var v struct {
		GitVersion string `json:"gitVersion"`
	}
	body, err := c.Typed.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return "", Err(err)
	}
	if err := json.Unmarshal(body, &v); err != nil || v.GitVersion == "" {
		return "", fmt.Errorf("%w: /version did not answer like a kubernetes apiserver", ErrUnreachable)
	}
	return v.GitVersion, nil
}

// ErrUnreachable marks a cluster that did not answer: network, TLS or timeout.
var ErrUnreachable = fmt.Errorf("%w: cluster unreachable", errs.ErrUnavailable)

// Err maps a client-go error into the API error model: not found, forbidden,
// conflict, invalid object (with the apiserver's field message) and
// unreachable stay distinct.
func Err(err error) error {
	if err == nil {
		return nil
	}
	var status apierrors.APIStatus
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%w: %s", errs.ErrNotFound, message(err))
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("%w: the cluster rejected the credential: %s", errs.ErrForbidden, message(err))
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%w: %s", errs.ErrForbidden, message(err))
	case apierrors.IsConflict(err), apierrors.IsAlreadyExists(err):
		return fmt.Errorf("%w: %s", errs.ErrConflict, message(err))
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err), apierrors.IsNotAcceptable(err),
		apierrors.IsUnsupportedMediaType(err), apierrors.IsMethodNotSupported(err), apierrors.IsRequestEntityTooLargeError(err):
		return fmt.Errorf("%w: %s", errs.ErrInvalid, message(err))
	case errors.As(err, &status):
		return fmt.Errorf("%w: %s", ErrUnreachable, message(err))
	}
	// Transport failures: refused, timed out, TLS not verified, blocked address.
	return fmt.Errorf("%w: %v", ErrUnreachable, err)
}

func caPEM(b64 string) ([]byte, error) {
	if _, err := model.ParseCAData(b64); err != nil {
		return nil, errs.Invalid("content.certificate_authority_data", "%v", err)
	}
	return base64.StdEncoding.DecodeString(b64)
}

// message is what an error may tell the caller: the apiserver's own
// Status message, never the body of an answer that was not a Kubernetes
// Status (client-go quotes it), which would let an endpoint's owner read
// whatever that server says back through envhub.
func message(err error) string {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return err.Error()
	}
	st := status.Status()
	if st.Details != nil {
		for _, c := range st.Details.Causes {
			if c.Type == metav1.CauseTypeUnexpectedServerResponse {
				return fmt.Sprintf("the cluster answered HTTP %d, not with a Kubernetes status", st.Code)
			}
		}
	}
	if st.Message != "" {
		return st.Message
	}
	return err.Error()
}
