// Package workload serves the workload routes of the environment API:
// scale a Deployment or StatefulSet, restart every workload of a service,
// set a container's image, and list a namespace's Kubernetes events. Each
// change is remembered in the environment's desired state (so later
// changes keep it, and it is part of the revision it makes) and applied as
// an operation (shared/operation) that ends when the rollout does.
package workload

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/deps"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/operation"
)

// Handler serves the area's routes; operations start, and the store is
// read, through the Starter.
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
	return map[string]api.HandlerFunc{
		"ScaleWorkload":            h.scale,
		"RestartService":           h.restart(model.EnvTest),
		"RestartProductionService": h.restart(model.EnvProduction),
		"UpdateDeploymentImage":    h.image("Deployment"),
		"UpdateStatefulSetImage":   h.image("StatefulSet"),
		"UpdateCronJobImage":       h.image("CronJob"),
		"ListKubeEvents":           h.events,
	}
}

// found is a workload an environment renders: the service rendering it and
// the object as it renders now.
type found struct {
	Service string
	Object  *unstructured.Unstructured
}

// find renders e and finds its workload kind/name; with service set, it
// must be that service's. A workload the environment does not render (one
// envhub did not create, or another namespace's) is a 404.
func (h *Handler) find(ctx context.Context, e *model.Environment, kind, name, service string) (found, error) {
	out, err := h.Renderer.Render(ctx, e)
	if err != nil {
		return found{}, err
	}
	for i, objs := range out.Services {
		for _, o := range objs {
			if o.GetKind() == kind && o.GetName() == name && (service == "" || e.Services[i].Name == service) {
				return found{e.Services[i].Name, o}, nil
			}
		}
	}
	if service != "" {
		return found{}, errs.NotFound(fmt.Sprintf("%s of service %s in environment %s", kind, service, e.Key), name)
	}
	return found{}, errs.NotFound(fmt.Sprintf("%s in environment %s", kind, e.Key), name)
}

// service is the index of e's service name, or a 404.
func service(e *model.Environment, name string) (int, error) {
	i := serviceIndex(e, name)
	if i < 0 {
		return -1, errs.NotFound("service of environment "+e.Key, name)
	}
	return i, nil
}

// isService selects the part of the named service.
func isService(name string) func(string) bool {
	return func(part string) bool { return part == model.ServicePart(name) }
}

// checkName checks an object name given in field.
func checkName(field, name string) error {
	if name == "" {
		return errs.Invalid(field, "is required")
	}
	if msgs := validation.IsDNS1123Subdomain(name); len(msgs) > 0 {
		return errs.Invalid(field, "%q is not a Kubernetes object name: %s", name, strings.Join(msgs, "; "))
	}
	return nil
}

// required refuses an empty field.
func required(field, value string) error {
	if value == "" {
		return errs.Invalid(field, "is required")
	}
	return nil
}
