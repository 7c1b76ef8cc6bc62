package workload

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/operation"
	"github.com/envhub/envhub/shared/render"
)

// ImageRequest is the image update body (spec: "Update the Image"); the
// environment's key is in the path.
type ImageRequest struct {
	ProjectKey string `json:"product_name"`
	EnvName    string `json:"env_name"`
	Service    string `json:"service_name"`
	Name       string `json:"name"`
	Container  string `json:"container_name"`
	Image      string `json:"image"`
}

func (r ImageRequest) check(envKey string) error {
	if err := required("product_name", r.ProjectKey); err != nil {
		return err
	}
	if r.EnvName != "" && r.EnvName != envKey {
		return errs.Invalid("env_name", "%q is not the environment the path names (%q)", r.EnvName, envKey)
	}
	if err := model.CheckKey("service_name", r.Service, 63); err != nil {
		return err
	}
	if err := checkName("name", r.Name); err != nil {
		return err
	}
	if err := required("container_name", r.Container); err != nil {
		return err
	}
	return render.CheckImage("image", r.Image)
}

// image points one container of a service's workload at an image, in a
// test environment (the spec has no production route, like zadig's). The
// image is remembered with the one the templates render there now: later
// changes keep it, unless their templates render another image there (they
// name a new one, which wins).
func (h *Handler) image(kind string) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req ImageRequest
		caller, _, idem, answered, err := h.Accept(w, r, &req)
		if err != nil || answered {
			return err
		}
		envKey := r.PathValue("envKey")
		if err := req.check(envKey); err != nil {
			return err
		}
		e, err := h.ChangeableNamed(r.Context(), model.EnvTest, operation.Names{ProjectField: "product_name", Project: req.ProjectKey,
			EnvField: "envKey", Env: envKey}, caller)
		if err != nil {
			return err
		}
		if _, err := service(e, req.Service); err != nil {
			return err
		}
		f, err := h.find(r.Context(), e, kind, req.Name, req.Service)
		if err != nil {
			return err
		}
		rendered, err := containerImage(f.Object, req.Container)
		if err != nil {
			return err
		}
		ref := model.WorkloadRef(kind, req.Name)
		return h.Run(w, r, operation.Update{Caller: caller, Env: e, Idem: idem, Touched: isService(f.Service),
			Input: fmt.Sprintf("image %s container %s: %s", ref, req.Container, req.Image),
			Set: func(e *model.Environment) {
				s := &e.Services[serviceIndex(e, f.Service)]
				base := rendered
				ours := func(c model.Container) bool { return c.Workload == ref && c.Name == req.Container }
				if i := slices.IndexFunc(s.Containers, ours); i >= 0 && s.Containers[i].Image == rendered {
					// The one set before is in effect: its templates still
					// render what they did then. (One not in effect gave way
					// to a template's new image: that image is the base now.)
					base = s.Containers[i].Base
				}
				s.Containers = append(slices.DeleteFunc(s.Containers, ours), model.Container{Name: req.Container, Image: req.Image,
					ImageName: render.ImageName(req.Image), Workload: ref, Base: base})
			}})
	}
}

// containerImage is the image a rendered workload's container (or init
// container) has; a container it does not have is a 400 naming those it has.
func containerImage(o *unstructured.Unstructured, name string) (string, error) {
	path, _ := cluster.PodTemplatePath(o.GetKind())
	var names []string
	for _, field := range []string{"containers", "initContainers"} {
		containers, _, _ := unstructured.NestedSlice(o.Object, append(path, "spec", field)...)
		for _, c := range containers {
			m, _ := c.(map[string]any)
			n, _ := m["name"].(string)
			if n == name {
				image, _ := m["image"].(string)
				return image, nil
			}
			names = append(names, n)
		}
	}
	return "", errs.Invalid("container_name", "%s %s has no container %q: its containers are %s", o.GetKind(), o.GetName(), name, strings.Join(names, ", "))
}
