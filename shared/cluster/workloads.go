package cluster

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
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
	Template map[string]string // container (and init container) name -> image its pod template asks for
	Selector labels.Selector
	Pods     []corev1.Pod
	Problem  string // why it cannot progress, in the apiserver's words (Deployments' conditions)
	Rollout  string // why its rollout is not complete yet ("" when it is), as kubectl rollout status says
}

// IsReady tells whether its rollout is complete: every desired replica is
// ready and at the current pod template (CronJobs always are).
func (w Workload) IsReady() bool {
	return w.Kind == CronJob || (w.Ready >= w.Desired && w.Rollout == "")
}

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
		w.Problem, w.Rollout = deploymentProblem(d.Status.Conditions), deploymentRollout(&d)
		out = append(out, w)
	}
	sts, err := apps.StatefulSets(namespace).List(ctx, opts)
	if err != nil {
		return nil, Err(err)
	}
	for _, s := range sts.Items {
		w := workload(StatefulSet, s.ObjectMeta, s.Spec.Replicas, s.Status.ReadyReplicas, s.Spec.Selector, s.Spec.Template)
		w.Rollout = statefulSetRollout(&s)
		out = append(out, w)
	}
	dss, err := apps.DaemonSets(namespace).List(ctx, opts)
	if err != nil {
		return nil, Err(err)
	}
	for _, d := range dss.Items {
		n := d.Status.DesiredNumberScheduled
		w := workload(DaemonSet, d.ObjectMeta, &n, d.Status.NumberReady, d.Spec.Selector, d.Spec.Template)
		w.Rollout = daemonSetRollout(&d)
		out = append(out, w)
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
	w := Workload{Kind: kind, Name: m.Name, Labels: m.Labels, Ready: ready, Desired: 1, Template: map[string]string{}}
	if desired != nil {
		w.Desired = *desired
	}
	if s, err := metav1.LabelSelectorAsSelector(sel); err == nil {
		w.Selector = s
	}
	for _, ct := range tpl.Spec.Containers {
		w.Images = append(w.Images, ct.Image)
		w.Template[ct.Name] = ct.Image
	}
	for _, ct := range tpl.Spec.InitContainers {
		w.Template[ct.Name] = ct.Image
	}
	return w
}
