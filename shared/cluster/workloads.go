package cluster

import (
	"context"
	"encoding/json"
	"time"

	"github.com/envhub/envhub/shared/errs"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// Workload kinds envhub lists and operates on.
const (
	Deployment  = "Deployment"
	StatefulSet = "StatefulSet"
	DaemonSet   = "DaemonSet"
	CronJob     = "CronJob"
)

// Workload is a workload with its pods and readiness.
type Workload struct {
	Kind     string
	Name     string
	Labels   map[string]string
	Desired  int32
	Ready    int32
	Images   []string
	Selector labels.Selector
	Pods     []corev1.Pod
	Problem  string // why it cannot progress, in the apiserver's words (Deployments' conditions)
}

// IsReady tells whether every desired replica is ready (CronJobs always are).
func (w Workload) IsReady() bool { return w.Kind == CronJob || w.Ready >= w.Desired }

// Workloads lists Deployments, StatefulSets, DaemonSets and CronJobs in a
// namespace matching selector (empty: all), each with its pods.
func (c *Cluster) Workloads(ctx context.Context, namespace, selector string) ([]Workload, error) {
	opts := metav1.ListOptions{LabelSelector: selector}
	apps := c.Typed.AppsV1()
	var out []Workload
	deps, err := apps.Deployments(namespace).List(ctx, opts)
	if err != nil {
		return nil, Err(err)
	}
	for _, d := range deps.Items {
		w := workload(Deployment, d.ObjectMeta, d.Spec.Replicas, d.Status.ReadyReplicas, d.Spec.Selector, d.Spec.Template)
		w.Problem = deploymentProblem(d.Status.Conditions)
		out = append(out, w)
	}
	sts, err := apps.StatefulSets(namespace).List(ctx, opts)
	if err != nil {
		return nil, Err(err)
	}
	for _, s := range sts.Items {
		out = append(out, workload(StatefulSet, s.ObjectMeta, s.Spec.Replicas, s.Status.ReadyReplicas, s.Spec.Selector, s.Spec.Template))
	}
	dss, err := apps.DaemonSets(namespace).List(ctx, opts)
	if err != nil {
		return nil, Err(err)
	}
	for _, d := range dss.Items {
		n := d.Status.DesiredNumberScheduled
		out = append(out, workload(DaemonSet, d.ObjectMeta, &n, d.Status.NumberReady, d.Spec.Selector, d.Spec.Template))
	}
	cjs, err := c.Typed.BatchV1().CronJobs(namespace).List(ctx, opts)
	if err != nil {
		return nil, Err(err)
	}
	for _, cj := range cjs.Items {
		tpl := cj.Spec.JobTemplate.Spec.Template
		zero := int32(0)
		out = append(out, workload(CronJob, cj.ObjectMeta, &zero, 0, &metav1.LabelSelector{MatchLabels: tpl.Labels}, tpl))
	}
	pods, err := c.Typed.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, Err(err)
	}
	for i := range out {
		for _, p := range pods.Items {
			if out[i].Selector != nil && !out[i].Selector.Empty() && out[i].Selector.Matches(labels.Set(p.Labels)) {
				out[i].Pods = append(out[i].Pods, p)
			}
		}
	}
	return out, nil
}

func workload(kind string, m metav1.ObjectMeta, desired *int32, ready int32, sel *metav1.LabelSelector, tpl corev1.PodTemplateSpec) Workload {
	w := Workload{Kind: kind, Name: m.Name, Labels: m.Labels, Ready: ready, Desired: 1}
	if desired != nil {
		w.Desired = *desired
	}
	if s, err := metav1.LabelSelectorAsSelector(sel); err == nil {
		w.Selector = s
	}
	for _, ct := range tpl.Spec.Containers {
		w.Images = append(w.Images, ct.Image)
	}
	return w
}

// Scale sets the replicas of a Deployment or StatefulSet through its scale subresource.
func (c *Cluster) Scale(ctx context.Context, namespace, kind, name string, replicas int32) error {
	if replicas < 0 {
		return errs.Invalid("replicas", "must not be negative")
	}
	apps := c.Typed.AppsV1()
	switch kind {
	case Deployment:
		s, err := apps.Deployments(namespace).GetScale(ctx, name, metav1.GetOptions{})
		if err != nil {
			return Err(err)
		}
		s.Spec.Replicas = replicas
		_, err = apps.Deployments(namespace).UpdateScale(ctx, name, s, metav1.UpdateOptions{})
		return Err(err)
	case StatefulSet:
		s, err := apps.StatefulSets(namespace).GetScale(ctx, name, metav1.GetOptions{})
		if err != nil {
			return Err(err)
		}
		s.Spec.Replicas = replicas
		_, err = apps.StatefulSets(namespace).UpdateScale(ctx, name, s, metav1.UpdateOptions{})
		return Err(err)
	}
	return errs.Invalid("kind", "%s cannot be scaled: use Deployment or StatefulSet", kind)
}

// templatePatch patches a workload's pod template with a strategic merge patch.
func (c *Cluster) templatePatch(ctx context.Context, namespace, kind, name string, template map[string]any) error {
	spec := map[string]any{"template": template}
	if kind == CronJob {
		spec = map[string]any{"jobTemplate": map[string]any{"spec": spec}}
	}
	data, _ := json.Marshal(map[string]any{"spec": spec})
	var err error
	switch kind {
	case Deployment:
		_, err = c.Typed.AppsV1().Deployments(namespace).Patch(ctx, name, types.StrategicMergePatchType, data, metav1.PatchOptions{FieldManager: FieldManager})
	case StatefulSet:
		_, err = c.Typed.AppsV1().StatefulSets(namespace).Patch(ctx, name, types.StrategicMergePatchType, data, metav1.PatchOptions{FieldManager: FieldManager})
	case DaemonSet:
		_, err = c.Typed.AppsV1().DaemonSets(namespace).Patch(ctx, name, types.StrategicMergePatchType, data, metav1.PatchOptions{FieldManager: FieldManager})
	case CronJob:
		_, err = c.Typed.BatchV1().CronJobs(namespace).Patch(ctx, name, types.StrategicMergePatchType, data, metav1.PatchOptions{FieldManager: FieldManager})
	default:
		return errs.Invalid("kind", "%q is not a workload kind (Deployment, StatefulSet, DaemonSet, CronJob)", kind)
	}
	return Err(err)
}

// SetImage sets one container's image; the container must exist.
func (c *Cluster) SetImage(ctx context.Context, namespace, kind, name, container, image string) error {
	if container == "" || image == "" {
		return errs.Invalid("image", "container name and image are required")
	}
	if err := c.hasContainer(ctx, namespace, kind, name, container); err != nil {
		return err
	}
	return c.templatePatch(ctx, namespace, kind, name, map[string]any{
		"spec": map[string]any{"containers": []any{map[string]any{"name": container, "image": image}}},
	})
}

func (c *Cluster) hasContainer(ctx context.Context, namespace, kind, name, container string) error {
	var tpl corev1.PodTemplateSpec
	var err error
	switch kind {
	case Deployment:
		var d *appsv1.Deployment
		if d, err = c.Typed.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{}); err == nil {
			tpl = d.Spec.Template
		}
	case StatefulSet:
		var s *appsv1.StatefulSet
		if s, err = c.Typed.AppsV1().StatefulSets(namespace).Get(ctx, name, metav1.GetOptions{}); err == nil {
			tpl = s.Spec.Template
		}
	case DaemonSet:
		var d *appsv1.DaemonSet
		if d, err = c.Typed.AppsV1().DaemonSets(namespace).Get(ctx, name, metav1.GetOptions{}); err == nil {
			tpl = d.Spec.Template
		}
	case CronJob:
		cj, e := c.Typed.BatchV1().CronJobs(namespace).Get(ctx, name, metav1.GetOptions{})
		if err = e; err == nil {
			tpl = cj.Spec.JobTemplate.Spec.Template
		}
	default:
		return errs.Invalid("kind", "%q is not a workload kind (Deployment, StatefulSet, DaemonSet, CronJob)", kind)
	}
	if err != nil {
		return Err(err)
	}
	for _, ct := range tpl.Spec.Containers {
		if ct.Name == container {
			return nil
		}
	}
	return errs.Invalid("container", "%s %s has no container %q", kind, name, container)
}

// Restart rolls a workload's pods by stamping its pod template, as kubectl rollout restart does.
func (c *Cluster) Restart(ctx context.Context, namespace, kind, name string) error {
	return c.templatePatch(ctx, namespace, kind, name, map[string]any{
		"metadata": map[string]any{"annotations": map[string]any{
			"kubectl.kubernetes.io/restartedAt": time.Now().UTC().Format(time.RFC3339Nano),
		}},
	})
}
