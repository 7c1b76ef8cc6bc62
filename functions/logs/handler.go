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
	"time"

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
	"github.com/envhub/envhub/shared/socket"
	"github.com/envhub/envhub/shared/store"
)

// Handler serves the area's routes; environments are read through the
// Starter, WebSocket connections kept in Conns.
type Handler struct {
	*operation.Starter
	Conns       Conns
	Verifier    *auth.Verifier
	Connections Pusher
	Invoker     deps.Invoker
}

// Conns keeps WebSocket connections and their subscriptions.
type Conns interface {
	PutConnection(ctx context.Context, c store.Connection) error
	Connection(ctx context.Context, id string) (*store.Connection, error)
	DeleteConnection(ctx context.Context, id string) error
	Subscribe(ctx context.Context, sub store.Subscription, expires time.Time) error
	Subscription(ctx context.Context, conn, id string) (*store.Subscription, error)
	Unsubscribe(ctx context.Context, subject, conn, id string, gen int64) error
	Checkpoint(ctx context.Context, conn, id string, gen, next int64, cursors map[string]string) error
}

// Pusher sends to WebSocket clients (the management API).
type Pusher interface {
	Post(ctx context.Context, id string, data []byte) error
	Delete(ctx context.Context, id string) error
}

var (
	_ Conns  = (*store.Store)(nil)
	_ Pusher = (*socket.Connections)(nil)
)

// Actions wires the handlers from Deps (used by the Lambda main and the local server).
func Actions(d *deps.Deps) map[string]api.HandlerFunc {
	return New(d).Actions()
}

// New builds the handler from Deps.
func New(d *deps.Deps) *Handler {
	return &Handler{Starter: operation.New(d), Conns: d.Store, Verifier: d.Verifier, Connections: d.Connections, Invoker: d.Invoker}
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
	if msgs := validation.IsDNS1123Label(container); len(msgs) > 0 {
		return Target{}, errs.Invalid("container", "%q is not a container name: %s", container, strings.Join(msgs, "; "))
	}
	if err := checkPod(pod); err != nil {
		return Target{}, err
	}
	t := Target{Pod: pod, Container: container}
	var err error
	if t.Env, t.Cluster, err = h.source(ctx, caller, projectKey, envKey); err != nil {
		return Target{}, err
	}
	_, err = t.container(ctx)
	return t, err
}

func checkPod(pod string) error {
	if msgs := validation.IsDNS1123Subdomain(pod); len(msgs) > 0 {
		return errs.Invalid("pod", "%q is not a pod name: %s", pod, strings.Join(msgs, "; "))
	}
	return nil
}

// source reads an environment the caller may read, and connects to its cluster.
func (h *Handler) source(ctx context.Context, caller auth.Identity, projectKey, envKey string) (*model.Environment, *cluster.Cluster, error) {
	_, e, err := h.Named(ctx, "", operation.Names{ProjectField: "projectKey", Project: projectKey, EnvField: "envName", Env: envKey}, caller)
	if err != nil {
		return nil, nil, err
	}
	c, err := h.Connector.Connect(ctx, e.ClusterID)
	return e, c, err
}

// container reads t's pod in its environment's namespace and names its
// container: t.Container if the pod has it, else (when unnamed) its only
// one. A pod the namespace does not hold is 404.
func (t Target) container(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, operation.RequestTimeout)
	defer cancel()
	p, err := t.Cluster.Typed.CoreV1().Pods(t.Env.Namespace).Get(ctx, t.Pod, metav1.GetOptions{})
	if err != nil {
		if err = cluster.Err(err); errors.Is(err, errs.ErrNotFound) {
			return "", errs.NotFound("pod of environment "+t.Env.Key, t.Pod)
		}
		return "", err
	}
	if t.Container == "" {
		if len(p.Spec.Containers) != 1 {
			return "", errs.Invalid("container", "pod %s has %d containers: name one", t.Pod, len(p.Spec.Containers))
		}
		return p.Spec.Containers[0].Name, nil
	}
	if !hasContainer(p, t.Container) {
		return "", errs.NotFound(fmt.Sprintf("container of pod %s", t.Pod), t.Container)
	}
	return t.Container, nil
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
