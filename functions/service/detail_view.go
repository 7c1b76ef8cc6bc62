package service

import (
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
)

// ServiceDetail is the body of GET /openapi/environments/{envKey}/services/{serviceName}
// (spec: "View Environmental Service Details"). Every slice is non-nil so it
// marshals as [] like the spec's examples, never null.
type ServiceDetail struct {
	ServiceName      string            `json:"service_name"`
	Scales           []Scale           `json:"scales"`
	Ingress          []IngressInfo     `json:"ingress"`
	ServiceEndpoints []ServiceEndpoint `json:"service_endpoints"`
	CronJobs         []CronJobInfo     `json:"cron_jobs"`
	Namespace        string            `json:"namespace"`
	EnvName          string            `json:"env_name"`
	ProductName      string            `json:"product_name"`
	GroupName        string            `json:"group_name"`
}

// Scale is a Deployment or StatefulSet with its pods.
type Scale struct {
	Name              string      `json:"name"`
	Type              string      `json:"type"`
	Images            []ImageInfo `json:"images"`
	Pods              []Pod       `json:"pods"`
	Replicas          int32       `json:"replicas"`
	ZadigxReleaseType string      `json:"zadigx_release_type"` // kept for the spec's shape; envhub has no release types
	ZadigxReleaseTag  string      `json:"zadigx_release_tag"`
}

// ImageInfo is one container of a pod template: its name, image and the
// image's bare repository name.
type ImageInfo struct {
	Name      string `json:"name"`
	Image     string `json:"image"`
	ImageName string `json:"image_name"`
}

type Pod struct {
	Kind                 string            `json:"kind"`
	Name                 string            `json:"name"`
	Status               string            `json:"status"`
	Age                  string            `json:"age"`
	CreateTime           int64             `json:"createtime"`
	IP                   string            `json:"ip"`
	Labels               map[string]string `json:"labels"`
	Containers           []Container       `json:"containers"`
	NodeName             string            `json:"node_name"`
	HostIP               string            `json:"host_ip"`
	EnableDebugContainer bool              `json:"enable_debug_container"`
	PodReady             bool              `json:"pod_ready"`
	ContainersReady      bool              `json:"containers_ready"`
	ContainersMessage    string            `json:"containers_message"`
}

type Container struct {
	Name         string                 `json:"name"`
	Image        string                 `json:"image"`
	RestartCount int32                  `json:"restart_count"`
	Status       string                 `json:"status"`
	Ready        bool                   `json:"ready"`
	Ports        []corev1.ContainerPort `json:"ports"` // marshals as containerPort/protocol, as in the spec
	Message      string                 `json:"message"`
	Reason       string                 `json:"reason"`
	StartedAt    int64                  `json:"started_at"`
}

type IngressInfo struct {
	Name     string            `json:"name"`
	Labels   map[string]string `json:"labels"`
	HostInfo []HostInfo        `json:"host_info"`
	IPs      []string          `json:"ips"`
	Age      string            `json:"age"`
}

type HostInfo struct {
	Host     string    `json:"host"`
	Backends []Backend `json:"backends"`
}

// Backend's port is a string: an Ingress may name a Service port instead of numbering it.
type Backend struct {
	ServiceName string `json:"service_name"`
	ServicePort string `json:"service_port"`
}

type ServiceEndpoint struct {
	Name      string            `json:"name"`
	Age       string            `json:"age"`
	Labels    map[string]string `json:"labels"`
	Endpoints []Endpoint        `json:"endpoints"`
}

type Endpoint struct {
	ServiceName string `json:"service_name"`
	ServicePort int32  `json:"service_port"`
	NodePort    int32  `json:"node_port"`
}

type CronJobInfo struct {
	Name             string      `json:"name"`
	Schedule         string      `json:"schedule"`
	Suspend          bool        `json:"suspend"`
	Images           []ImageInfo `json:"images"`
	LastScheduleTime int64       `json:"last_schedule_time"`
	Age              string      `json:"age"`
}

// validWorkloadTypes are the workLoadtype query values the route accepts ("" = all).
var validWorkloadTypes = []string{cluster.Deployment, cluster.StatefulSet, cluster.CronJob}

func checkWorkloadType(t string) error {
	if t == "" || slices.Contains(validWorkloadTypes, t) {
		return nil
	}
	return errs.Invalid("workLoadtype", "must be one of Deployment, StatefulSet, CronJob")
}

// buildDetail turns a service's objects into the view, keeping only the
// workloads of workloadType ("" = all); services and ingresses always show.
// It fills no environment fields: the caller sets them with withEnv.
func buildDetail(objs *cluster.ServiceObjects, workloadType string, now time.Time) ServiceDetail {
	d := ServiceDetail{Scales: []Scale{}, Ingress: []IngressInfo{}, ServiceEndpoints: []ServiceEndpoint{}, CronJobs: []CronJobInfo{}}
	want := func(kind string) bool { return workloadType == "" || workloadType == kind }
	if want(cluster.Deployment) {
		for _, x := range objs.Deployments {
			d.Scales = append(d.Scales, scale(cluster.Deployment, x.ObjectMeta, x.Spec.Replicas, x.Spec.Selector, x.Spec.Template, objs.Pods, now))
		}
	}
	if want(cluster.StatefulSet) {
		for _, x := range objs.StatefulSets {
			d.Scales = append(d.Scales, scale(cluster.StatefulSet, x.ObjectMeta, x.Spec.Replicas, x.Spec.Selector, x.Spec.Template, objs.Pods, now))
		}
	}
	if want(cluster.CronJob) {
		for _, x := range objs.CronJobs {
			cj := CronJobInfo{Name: x.Name, Schedule: x.Spec.Schedule, Suspend: x.Spec.Suspend != nil && *x.Spec.Suspend,
				Images: images(x.Spec.JobTemplate.Spec.Template), Age: age(x.CreationTimestamp, now)}
			if t := x.Status.LastScheduleTime; t != nil {
				cj.LastScheduleTime = unix(*t)
			}
			d.CronJobs = append(d.CronJobs, cj)
		}
	}
	for _, s := range objs.Services {
		se := ServiceEndpoint{Name: s.Name, Age: age(s.CreationTimestamp, now), Labels: nonNil(s.Labels), Endpoints: []Endpoint{}}
		for _, p := range s.Spec.Ports {
			se.Endpoints = append(se.Endpoints, Endpoint{ServiceName: s.Name, ServicePort: p.Port, NodePort: p.NodePort})
		}
		d.ServiceEndpoints = append(d.ServiceEndpoints, se)
	}
	for _, ing := range objs.Ingresses {
		d.Ingress = append(d.Ingress, ingressInfo(ing, now))
	}
	// Lists come back in the apiserver's order; sort for output that does not move.
	slices.SortFunc(d.Scales, func(a, b Scale) int { return strings.Compare(a.Name+"/"+a.Type, b.Name+"/"+b.Type) })
	slices.SortFunc(d.CronJobs, func(a, b CronJobInfo) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(d.ServiceEndpoints, func(a, b ServiceEndpoint) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(d.Ingress, func(a, b IngressInfo) int { return strings.Compare(a.Name, b.Name) })
	return d
}

// withEnv sets the fields that come from the environment record, not the cluster.
func withEnv(d ServiceDetail, serviceName, namespace, envName, productName string) ServiceDetail {
	d.ServiceName, d.Namespace, d.EnvName, d.ProductName = serviceName, namespace, envName, productName
	return d
}

func scale(kind string, m metav1.ObjectMeta, replicas *int32, sel *metav1.LabelSelector, tpl corev1.PodTemplateSpec, pods []corev1.Pod, now time.Time) Scale {
	s := Scale{Name: m.Name, Type: kind, Images: images(tpl), Pods: []Pod{}, Replicas: 1}
	if replicas != nil {
		s.Replicas = *replicas
	}
	// An empty or invalid selector would claim every pod: it claims none.
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || selector.Empty() {
		return s
	}
	for _, p := range pods {
		if selector.Matches(labels.Set(p.Labels)) {
			s.Pods = append(s.Pods, pod(p, now))
		}
	}
	slices.SortFunc(s.Pods, func(a, b Pod) int { return strings.Compare(a.Name, b.Name) })
	return s
}

func images(tpl corev1.PodTemplateSpec) []ImageInfo {
	out := []ImageInfo{}
	for _, c := range tpl.Spec.Containers {
		out = append(out, ImageInfo{Name: c.Name, Image: c.Image, ImageName: imageName(c.Image)})
	}
	return out
}

// imageName is an image's repository without registry, path, tag or digest:
// "registry.example.com/team/web:1.2" is "web".
func imageName(image string) string {
	image, _, _ = strings.Cut(image, "@")
	image = image[strings.LastIndex(image, "/")+1:]
	image, _, _ = strings.Cut(image, ":")
	return image
}

func pod(p corev1.Pod, now time.Time) Pod {
	out := Pod{Name: p.Name, Status: string(p.Status.Phase), Age: age(p.CreationTimestamp, now), CreateTime: unix(p.CreationTimestamp),
		IP: p.Status.PodIP, Labels: nonNil(p.Labels), Containers: []Container{}, NodeName: p.Spec.NodeName, HostIP: p.Status.HostIP}
	if p.DeletionTimestamp != nil {
		out.Status = "Terminating" // what kubectl shows: the phase stays Running until the pod is gone
	}
	if owner := metav1.GetControllerOf(&p); owner != nil {
		out.Kind = owner.Kind
	} else if len(p.OwnerReferences) > 0 {
		out.Kind = p.OwnerReferences[0].Kind
	}
	for _, c := range p.Status.Conditions {
		switch c.Type {
		case corev1.PodReady:
			out.PodReady = c.Status == corev1.ConditionTrue
		case corev1.ContainersReady:
			out.ContainersReady = c.Status == corev1.ConditionTrue
			if !out.ContainersReady {
				out.ContainersMessage = c.Message
			}
		}
	}
	for _, c := range p.Spec.Containers {
		out.Containers = append(out.Containers, container(c, p.Status.ContainerStatuses))
	}
	return out
}

func container(c corev1.Container, statuses []corev1.ContainerStatus) Container {
	out := Container{Name: c.Name, Image: c.Image, Status: "unknown", Ports: []corev1.ContainerPort{}}
	for _, p := range c.Ports {
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP // the apiserver's default
		}
		out.Ports = append(out.Ports, p)
	}
	i := slices.IndexFunc(statuses, func(s corev1.ContainerStatus) bool { return s.Name == c.Name })
	if i < 0 {
		return out // not started yet: no status reported
	}
	st := statuses[i]
	out.Image, out.RestartCount, out.Ready = st.Image, st.RestartCount, st.Ready
	if out.Image == "" {
		out.Image = c.Image
	}
	switch s := st.State; {
	case s.Running != nil:
		out.Status, out.StartedAt = "running", unix(s.Running.StartedAt)
	case s.Waiting != nil:
		out.Status, out.Reason, out.Message = "waiting", s.Waiting.Reason, s.Waiting.Message
	case s.Terminated != nil:
		out.Status, out.Reason, out.Message, out.StartedAt = "terminated", s.Terminated.Reason, s.Terminated.Message, unix(s.Terminated.StartedAt)
	}
	return out
}

func ingressInfo(ing networkingv1.Ingress, now time.Time) IngressInfo {
	out := IngressInfo{Name: ing.Name, Labels: nonNil(ing.Labels), HostInfo: []HostInfo{}, IPs: []string{}, Age: age(ing.CreationTimestamp, now)}
	for _, r := range ing.Spec.Rules {
		h := HostInfo{Host: r.Host, Backends: []Backend{}}
		if r.HTTP != nil {
			for _, p := range r.HTTP.Paths {
				if svc := p.Backend.Service; svc != nil {
					port := svc.Port.Name
					if svc.Port.Number != 0 {
						port = strconv.Itoa(int(svc.Port.Number))
					}
					h.Backends = append(h.Backends, Backend{ServiceName: svc.Name, ServicePort: port})
				}
			}
		}
		out.HostInfo = append(out.HostInfo, h)
	}
	for _, lb := range ing.Status.LoadBalancer.Ingress {
		if lb.IP != "" {
			out.IPs = append(out.IPs, lb.IP)
		} else if lb.Hostname != "" {
			out.IPs = append(out.IPs, lb.Hostname) // cloud load balancers that publish only a name
		}
	}
	return out
}

// age is kubectl's short age ("20s", "3m", "5h", "34d"); a creation time
// slightly ahead of now (clock skew) reads "0s".
func age(created metav1.Time, now time.Time) string {
	if created.IsZero() {
		return ""
	}
	return duration.ShortHumanDuration(max(now.Sub(created.Time), 0))
}

func unix(t metav1.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
