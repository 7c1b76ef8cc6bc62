package workload

import (
	"fmt"
	"net/http"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/operation"
	"github.com/envhub/envhub/shared/render"
)

// MaxReplicas bounds target_replicas: clusters are shared, and one request
// should not fill one.
const MaxReplicas = 100

// ScaleRequest is the scale body (spec: "Adjust the Number of Replicas").
type ScaleRequest struct {
	ProjectKey   string `json:"project_key"`
	EnvKey       string `json:"env_key"`
	WorkloadName string `json:"workload_name"`
	WorkloadType string `json:"workload_type"`
	Replicas     *int   `json:"target_replicas"`
	// ServiceName (optional; zadig's clients send it) must then be the
	// service rendering the workload.
	ServiceName string `json:"service_name"`
}

func (r ScaleRequest) check() error {
	if err := required("project_key", r.ProjectKey); err != nil {
		return err
	}
	if err := required("env_key", r.EnvKey); err != nil {
		return err
	}
	if err := checkName("workload_name", r.WorkloadName); err != nil {
		return err
	}
	if r.WorkloadType != cluster.Deployment && r.WorkloadType != cluster.StatefulSet {
		return errs.Invalid("workload_type", "must be Deployment or StatefulSet, not %q", r.WorkloadType)
	}
	if r.ServiceName != "" {
		if err := model.CheckKey("service_name", r.ServiceName, 63); err != nil {
			return err
		}
	}
	if r.Replicas == nil {
		return errs.Invalid("target_replicas", "is required")
	}
	if *r.Replicas < 0 || *r.Replicas > MaxReplicas {
		return errs.Invalid("target_replicas", "must be between 0 and %d, not %d", MaxReplicas, *r.Replicas)
	}
	return nil
}

// scale sets a Deployment's or StatefulSet's replicas, in a test
// environment (the spec has no production route, like zadig's). The count is
// remembered (a later render keeps it), with the last one above zero, what
// a workload scaled to 0 wakes up with.
func (h *Handler) scale(w http.ResponseWriter, r *http.Request) error {
	var req ScaleRequest
	caller, _, idem, answered, err := h.Accept(w, r, &req)
	if err != nil || answered {
		return err
	}
	if err := req.check(); err != nil {
		return err
	}
	e, err := h.ChangeableNamed(r.Context(), model.EnvTest, operation.Names{ProjectField: "project_key", Project: req.ProjectKey,
		EnvField: "env_key", Env: req.EnvKey}, caller)
	if err != nil {
		return err
	}
	f, err := h.find(r.Context(), e, req.WorkloadType, req.WorkloadName, req.ServiceName)
	if err != nil {
		return err
	}
	ref, n := model.WorkloadRef(req.WorkloadType, req.WorkloadName), int32(*req.Replicas)
	now := replicas(f.Object)
	return h.Run(w, r, operation.Update{Caller: caller, Env: e, Idem: idem, Touched: isService(f.Service),
		Input: fmt.Sprintf("scale %s to %d", ref, n),
		Set: func(e *model.Environment) {
			s := &e.Services[serviceIndex(e, f.Service)]
			last := now
			if i := slices.IndexFunc(s.Replicas, func(x model.Replicas) bool { return x.Workload == ref }); i >= 0 {
				last = s.Replicas[i].Last
				s.Replicas = slices.Delete(s.Replicas, i, i+1)
			}
			if n > 0 {
				last = n
			}
			last = max(last, 1) // what a workload scaled to 0 wakes up with

			s.Replicas = append(s.Replicas, model.Replicas{Workload: ref, Replicas: n, Last: last})
		}})
}

// replicas is a rendered workload's replica count (1 when it names none,
// as the apiserver defaults it).
func replicas(o *unstructured.Unstructured) int32 {
	n, found := render.Number(o.Object, "spec", "replicas")
	if !found {
		return 1
	}
	return int32(n)
}

// serviceIndex is the index of a service e has: Set runs on the
// environment at the version the request read, which has it.
func serviceIndex(e *model.Environment, name string) int {
	return slices.IndexFunc(e.Services, func(s model.EnvService) bool { return s.Name == name })
}
