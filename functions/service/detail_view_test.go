package service

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
)

var detailNow = time.Date(2024, 2, 8, 12, 0, 0, 0, time.UTC)

func detailMeta(name string, ago time.Duration, l map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Labels: l, CreationTimestamp: metav1.NewTime(detailNow.Add(-ago))}
}

func detailTemplate(app, image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: app, Image: image, Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}}},
	}
}

func detailPod(name, app, owner string, ago time.Duration, st corev1.ContainerState) corev1.Pod {
	p := corev1.Pod{ObjectMeta: detailMeta(name, ago, map[string]string{"app": app, "s-service": "web"}),
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: detailTemplate(app, "reg.example.com/team/"+app+":1.0").Spec.Containers},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1", HostIP: "192.168.0.1",
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}, {Type: corev1.ContainersReady, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: app, Image: "reg.example.com/team/" + app + ":1.0", Ready: st.Running != nil, RestartCount: 2, State: st}}},
	}
	yes := true
	p.OwnerReferences = []metav1.OwnerReference{{Kind: owner, Name: app, Controller: &yes}}
	return p
}

func detailObjects() *cluster.ServiceObjects {
	two, three := int32(2), int32(3)
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(detailNow.Add(-time.Hour))}}
	pulling := corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image"}}
	web2 := detailPod("web-7d9f-b", "web", "ReplicaSet", 5*time.Hour, running)
	gone := metav1.NewTime(detailNow)
	web2.DeletionTimestamp = &gone
	api := detailPod("api-5c4-a", "api", "ReplicaSet", 3*time.Minute, pulling)
	api.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse},
		{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, Message: "containers with unready status: [api]"}}
	suspend := true
	last := metav1.NewTime(detailNow.Add(-20 * time.Second))
	return &cluster.ServiceObjects{
		// Out of order on purpose: the view sorts.
		Deployments: []appsv1.Deployment{
			{ObjectMeta: detailMeta("web", 34*24*time.Hour, nil), Spec: appsv1.DeploymentSpec{Replicas: &two,
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, Template: detailTemplate("web", "reg.example.com/team/web:1.0")}},
			{ObjectMeta: detailMeta("api", time.Hour, nil), Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}, Template: detailTemplate("api", "api@sha256:abc")}},
		},
		StatefulSets: []appsv1.StatefulSet{{ObjectMeta: detailMeta("db", time.Hour, nil), Spec: appsv1.StatefulSetSpec{Replicas: &three,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, Template: detailTemplate("db", "postgres:16")}}},
		CronJobs: []batchv1.CronJob{{ObjectMeta: detailMeta("nightly", 2*time.Hour, nil), Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", Suspend: &suspend,
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: detailTemplate("nightly", "busybox:1.36")}}},
			Status: batchv1.CronJobStatus{LastScheduleTime: &last}}},
		Pods: []corev1.Pod{
			web2,
			detailPod("web-7d9f-a", "web", "ReplicaSet", 20*time.Second, running),
			api,
			detailPod("db-0", "db", "StatefulSet", 45*time.Minute, running),
			detailPod("stray", "other", "ReplicaSet", time.Minute, running), // matches no workload
		},
		Services: []corev1.Service{{ObjectMeta: detailMeta("web", 119*24*time.Hour, map[string]string{"s-service": "web"}),
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80, NodePort: 30593}}}}},
		Ingresses: []networkingv1.Ingress{{ObjectMeta: detailMeta("web", 2*24*time.Hour, nil),
			Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "web.example.com", IngressRuleValue: networkingv1.IngressRuleValue{
				HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{
					{Path: "/", Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}},
					{Path: "/admin", Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Name: "admin"}}}},
				}}}}}},
			Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{Ingress: []networkingv1.IngressLoadBalancerIngress{{IP: "203.0.113.7"}}}}}},
	}
}

func scaleNames(d ServiceDetail) string {
	var out []string
	for _, s := range d.Scales {
		var pods []string
		for _, p := range s.Pods {
			pods = append(pods, p.Name)
		}
		out = append(out, s.Type+"/"+s.Name+"["+strings.Join(pods, ",")+"]")
	}
	return strings.Join(out, " ")
}

func TestDetailFilter(t *testing.T) {
	cases := []struct {
		workloadType, scales string
		cronJobs             int
	}{
		{"", "Deployment/api[api-5c4-a] StatefulSet/db[db-0] Deployment/web[web-7d9f-a,web-7d9f-b]", 1},
		{"Deployment", "Deployment/api[api-5c4-a] Deployment/web[web-7d9f-a,web-7d9f-b]", 0},
		{"StatefulSet", "StatefulSet/db[db-0]", 0},
		{"CronJob", "", 1},
	}
	for _, tc := range cases {
		d := buildDetail(detailObjects(), tc.workloadType, detailNow)
		if got := scaleNames(d); got != tc.scales {
			t.Errorf("%q: scales %s, want %s", tc.workloadType, got, tc.scales)
		}
		if len(d.CronJobs) != tc.cronJobs || len(d.ServiceEndpoints) != 1 || len(d.Ingress) != 1 {
			t.Errorf("%q: %d cron jobs, %d services, %d ingresses", tc.workloadType, len(d.CronJobs), len(d.ServiceEndpoints), len(d.Ingress))
		}
	}
}

func TestDetailFields(t *testing.T) {
	d := buildDetail(detailObjects(), "", detailNow)
	api, db, web := d.Scales[0], d.Scales[1], d.Scales[2]
	if web.Replicas != 2 || api.Replicas != 1 || db.Replicas != 3 {
		t.Errorf("replicas web %d api %d (default) db %d", web.Replicas, api.Replicas, db.Replicas)
	}
	if img := web.Images[0]; img != (ImageInfo{Name: "web", Image: "reg.example.com/team/web:1.0", ImageName: "web"}) || api.Images[0].ImageName != "api" || db.Images[0].ImageName != "postgres" {
		t.Errorf("images %+v %+v %+v", web.Images, api.Images, db.Images)
	}
	a, b := web.Pods[0], web.Pods[1]
	if a.Status != "Running" || a.Age != "20s" || a.Kind != "ReplicaSet" || !a.PodReady || !a.ContainersReady || a.IP != "10.0.0.1" || a.HostIP != "192.168.0.1" || a.NodeName != "node-1" {
		t.Errorf("running pod %+v", a)
	}
	if a.CreateTime != detailNow.Add(-20*time.Second).Unix() {
		t.Errorf("createtime %d", a.CreateTime)
	}
	if c := a.Containers[0]; c.Status != "running" || !c.Ready || c.RestartCount != 2 || c.StartedAt != detailNow.Add(-time.Hour).Unix() || c.Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("running container %+v", c)
	}
	if b.Status != "Terminating" || b.Age != "5h" {
		t.Errorf("terminating pod: %s %s", b.Status, b.Age)
	}
	p := api.Pods[0]
	if c := p.Containers[0]; c.Status != "waiting" || c.Reason != "ImagePullBackOff" || c.Message == "" || c.Ready || c.StartedAt != 0 {
		t.Errorf("waiting container %+v", c)
	}
	if p.PodReady || p.ContainersReady || p.ContainersMessage != "containers with unready status: [api]" || p.Age != "3m" {
		t.Errorf("unready pod %+v", p)
	}
	if db.Pods[0].Kind != "StatefulSet" || db.Pods[0].Age != "45m" {
		t.Errorf("db pod %+v", db.Pods[0])
	}
	se := d.ServiceEndpoints[0]
	if se.Age != "119d" || len(se.Endpoints) != 1 || se.Endpoints[0] != (Endpoint{ServiceName: "web", ServicePort: 80, NodePort: 30593}) {
		t.Errorf("service %+v", se)
	}
	ing := d.Ingress[0]
	if ing.Age != "2d" || len(ing.IPs) != 1 || ing.IPs[0] != "203.0.113.7" || ing.HostInfo[0].Host != "web.example.com" ||
		len(ing.HostInfo[0].Backends) != 2 || ing.HostInfo[0].Backends[0] != (Backend{"web", "80"}) || ing.HostInfo[0].Backends[1] != (Backend{"web", "admin"}) {
		t.Errorf("ingress %+v", ing)
	}
	cj := d.CronJobs[0]
	if cj.Schedule != "0 3 * * *" || !cj.Suspend || cj.LastScheduleTime != detailNow.Add(-20*time.Second).Unix() || cj.Age != "2h" || cj.Images[0].ImageName != "busybox" {
		t.Errorf("cron job %+v", cj)
	}
}

func TestDetailJSON(t *testing.T) {
	full := withEnv(buildDetail(detailObjects(), "", detailNow), "web", "proj-env-dev", "dev", "proj")
	data, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	_ = json.Unmarshal(data, &top)
	for _, k := range []string{"service_name", "scales", "ingress", "service_endpoints", "cron_jobs", "namespace", "env_name", "product_name", "group_name"} {
		if _, ok := top[k]; !ok {
			t.Errorf("no key %q in %s", k, data)
		}
	}
	if string(top["namespace"]) != `"proj-env-dev"` || string(top["service_name"]) != `"web"` {
		t.Errorf("env fields %s %s", top["namespace"], top["service_name"])
	}
	s := string(data)
	for _, want := range []string{`"containerPort":8080`, `"protocol":"TCP"`, `"zadigx_release_type":""`, `"enable_debug_container":false`,
		`"createtime":`, `"started_at":`, `"node_port":30593`, `"last_schedule_time":`, `"host_info":[`, `"image_name":"web"`} {
		if !strings.Contains(s, want) {
			t.Errorf("no %s in %s", want, s)
		}
	}

	// Nothing found: every list is [], never null, down to labels and ports.
	empty, _ := json.Marshal(buildDetail(&cluster.ServiceObjects{}, "", detailNow))
	if want := `{"service_name":"","scales":[],"ingress":[],"service_endpoints":[],"cron_jobs":[],"namespace":"","env_name":"","product_name":"","group_name":""}`; string(empty) != want {
		t.Errorf("empty: %s", empty)
	}
	bare := &cluster.ServiceObjects{
		Deployments: []appsv1.Deployment{{ObjectMeta: metav1.ObjectMeta{Name: "d"}, Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}}}},
		Pods:        []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"a": "b"}}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}}},
		Services:    []corev1.Service{{ObjectMeta: metav1.ObjectMeta{Name: "s"}}},
		Ingresses:   []networkingv1.Ingress{{ObjectMeta: metav1.ObjectMeta{Name: "i"}, Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "h"}}}}},
	}
	data, _ = json.Marshal(buildDetail(bare, "", detailNow))
	if strings.Contains(string(data), "null") {
		t.Errorf("null in %s", data)
	}
	for _, want := range []string{`"images":[]`, `"labels":{}`, `"ports":[]`, `"createtime":0`, `"endpoints":[]`, `"backends":[]`, `"ips":[]`, `"status":"unknown"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("no %s in %s", want, data)
		}
	}
}

func TestDetailWorkloadType(t *testing.T) {
	for _, ok := range []string{"", "Deployment", "StatefulSet", "CronJob"} {
		if err := checkWorkloadType(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"deployment", "DaemonSet", "Pod", " Deployment"} {
		if err := checkWorkloadType(bad); !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), "workLoadtype") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
