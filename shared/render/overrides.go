package render

import (
	"fmt"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
)

// Overrides are what the workload routes set on a service's rendered
// workloads; they are applied after rendering, so they survive every later
// render of the service.
type Overrides struct {
	Images      []Image          // container images; a later one wins
	Replicas    map[string]int32 // "Kind/name" -> replicas (Deployments and StatefulSets)
	RestartedAt string           // stamped on the pod templates of its Deployments, StatefulSets and DaemonSets
}

// Image points a container at an image: of one workload ("Kind/name") or,
// with Workload empty, of every workload of the service having it. Base,
// when set, is the image the templates rendered when it was set: if they
// render another one now, the change named a new image, which wins, and the
// override is reported Superseded.
type Image struct{ Workload, Container, Image, Base string }

// Superseded is what a render no longer uses of what the workload routes
// set on a service: an image that gave way to a new rendered one, or (Gone
// set) everything set on a workload the service no longer renders.
type Superseded struct {
	Service string
	Image   Image
	Gone    string // "Kind/name"
}

// gone lists the workloads ov sets something on that objs do not render.
func (ov Overrides) gone(objs []*unstructured.Unstructured) []string {
	rendered := map[string]bool{}
	for _, o := range objs {
		rendered[o.GetKind()+"/"+o.GetName()] = true
	}
	seen := map[string]bool{}
	var out []string
	add := func(ref string) {
		if ref != "" && !rendered[ref] && !seen[ref] {
			seen[ref] = true
			out = append(out, ref)
		}
	}
	for ref := range ov.Replicas {
		add(ref)
	}
	for _, img := range ov.Images {
		add(img.Workload)
	}
	slices.Sort(out)
	return out
}

// RestartedAtAnnotation is what kubectl rollout restart stamps on a pod template.
const RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

// restartable are the kinds a restart rolls (kubectl rollout restart's).
var restartable = map[string]bool{cluster.Deployment: true, cluster.StatefulSet: true, cluster.DaemonSet: true}

// apply applies the overrides to one rendered object and returns the image
// overrides its templates superseded.
func (ov Overrides) apply(o *unstructured.Unstructured) []Image {
	path, ok := cluster.PodTemplatePath(o.GetKind())
	if !ok {
		return nil
	}
	ref := o.GetKind() + "/" + o.GetName()
	if n, ok := ov.Replicas[ref]; ok && (o.GetKind() == cluster.Deployment || o.GetKind() == cluster.StatefulSet) {
		_ = unstructured.SetNestedField(o.Object, int64(n), "spec", "replicas")
	}
	if ov.RestartedAt != "" && restartable[o.GetKind()] {
		p := append(append([]string{}, path...), "metadata", "annotations")
		ann, _, _ := unstructured.NestedStringMap(o.Object, p...)
		if ann == nil {
			ann = map[string]string{}
		}
		ann[RestartedAtAnnotation] = ov.RestartedAt
		_ = unstructured.SetNestedStringMap(o.Object, ann, p...)
	}
	var superseded []Image
	for _, field := range []string{"initContainers", "containers"} {
		p := append(append([]string{}, path...), "spec", field)
		containers, found, _ := unstructured.NestedSlice(o.Object, p...)
		if !found {
			continue
		}
		for _, c := range containers {
			m, ok := c.(map[string]any)
			if !ok {
				continue
			}
			for _, img := range ov.Images {
				if img.Container != fmt.Sprint(m["name"]) || img.Image == "" || (img.Workload != "" && img.Workload != ref) {
					continue
				}
				// Base is compared with the image as the templates and the
				// overrides before this one leave it (those set when it was).
				if img.Base != "" && img.Base != fmt.Sprint(m["image"]) {
					superseded = append(superseded, img)
					continue
				}
				m["image"] = img.Image
			}
		}
		_ = unstructured.SetNestedSlice(o.Object, containers, p...)
	}
	return superseded
}

// CheckImage refuses (400, naming field) an image reference a container
// runtime would not pull: it must parse as a docker reference (a name with
// an optional registry, tag and digest).
func CheckImage(field, image string) error {
	if image == "" {
		return errs.Invalid(field, "is required")
	}
	if strings.TrimSpace(image) != image {
		return errs.Invalid(field, "must not have spaces around it")
	}
	if _, err := reference.ParseNormalizedNamed(image); err != nil {
		return errs.Invalid(field, "%q is not an image reference ([registry/]name[:tag][@digest]): %v", image, err)
	}
	return nil
}

// ImageName is an image's repository without registry, path, tag or
// digest: "registry.example.com/team/web:1.2" is "web".
func ImageName(image string) string {
	if named, err := reference.ParseNormalizedNamed(image); err == nil {
		image = reference.Path(named)
	} else {
		image, _, _ = strings.Cut(image, "@")
		image, _, _ = strings.Cut(image[strings.LastIndex(image, "/")+1:], ":")
	}
	return image[strings.LastIndex(image, "/")+1:]
}

// Number reads an integer field of a rendered object, however the decoder
// typed it (int64, or float64 from JSON); found is false if it is absent or
// not a number.
func Number(obj map[string]any, fields ...string) (n int64, found bool) {
	switch v, _, _ := unstructured.NestedFieldNoCopy(obj, fields...); v := v.(type) {
	case int64:
		return v, true
	case int:
		return int64(v), true
	case float64:
		return int64(v), true
	}
	return 0, false
}
