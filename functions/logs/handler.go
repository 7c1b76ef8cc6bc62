// Package logs serves containers' live logs: the SSE route of the
// environment API (and, for following, the same handler wherever responses
// stream), for pods of the caller's environment only, read through the one
// log reader of shared/cluster.
package logs

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/auth"
	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/deps"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/operation"
)

// Handler serves the area's routes; environments are read through the Starter.
type Handler struct {
	*operation.Starter
}

// Actions wires the handlers from Deps (used by the Lambda main and the local server).
func Actions(d *deps.Deps) map[string]api.HandlerFunc {
	return New(d).Actions()
}

// New builds the handler from Deps.
func New(d *deps.Deps) *Handler {
	return &Handler{Starter: operation.New(d)}
}

// Actions maps the route table's actions to handlers.
func (h *Handler) Actions() map[string]api.HandlerFunc {
	return map[string]api.HandlerFunc{"GetContainerLogs": h.sse}
}

// Target is one container of a pod of an environment the caller may read.
type Target struct {
	Env       *model.Environment
	Cluster   *cluster.Cluster
	Pod       string
	Container string
}

// target finds a pod's container in the environment projectKey and envKey
// name: a pod the environment's namespace does not hold (another's, or
// none) is 404, as is a container the pod does not have.
func (h *Handler) target(ctx context.Context, caller auth.Identity, projectKey, envKey, pod, container string) (Target, error) {
	if msgs := validation.IsDNS1123Subdomain(pod); len(msgs) > 0 {
		return Target{}, errs.Invalid("pod", "%q is not a pod name: %s", pod, strings.Join(msgs, "; "))
	}
	if msgs := validation.IsDNS1123Label(container); len(msgs) > 0 {
		return Target{}, errs.Invalid("container", "%q is not a container name: %s", container, strings.Join(msgs, "; "))
	}
	_, e, err := h.Named(ctx, "", operation.Names{ProjectField: "projectKey", Project: projectKey, EnvField: "envName", Env: envKey}, caller)
	if err != nil {
		return Target{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, operation.RequestTimeout)
	defer cancel()
	c, err := h.Connector.Connect(ctx, e.ClusterID)
	if err != nil {
		return Target{}, err
	}
	p, err := c.Typed.CoreV1().Pods(e.Namespace).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		if err = cluster.Err(err); errors.Is(err, errs.ErrNotFound) {
			return Target{}, errs.NotFound("pod of environment "+e.Key, pod)
		}
		return Target{}, err
	}
	if !hasContainer(p, container) {
		return Target{}, errs.NotFound(fmt.Sprintf("container of pod %s", pod), container)
	}
	return Target{e, c, pod, container}, nil
}

func hasContainer(p *corev1.Pod, name string) bool {
	for _, list := range [][]corev1.Container{p.Spec.Containers, p.Spec.InitContainers} {
		for _, c := range list {
			if c.Name == name {
				return true
			}
		}
	}
	return false
}
