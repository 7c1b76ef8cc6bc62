package cluster

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDeploymentRollout(t *testing.T) {
	three := int32(3)
	d := func(gen, observed int64, st appsv1.DeploymentStatus) *appsv1.Deployment {
		st.ObservedGeneration = observed
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: gen}, Spec: appsv1.DeploymentSpec{Replicas: &three}, Status: st}
	}
	cases := map[string]struct {
		d    *appsv1.Deployment
		want string // "" complete; else a word of the reason
	}{
		"complete":             {d(2, 2, appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3}), ""},
		"spec not seen yet":    {d(3, 2, appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3}), "observed"},
		"old ready, new none":  {d(2, 2, appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 0, ReadyReplicas: 3, AvailableReplicas: 3}), "updated"},
		"old still running":    {d(2, 2, appsv1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 3, ReadyReplicas: 4, AvailableReplicas: 4}), "old"},
		"new not available":    {d(2, 2, appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 2}), "available"},
		"scaled to zero, done": {&appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: new(int32)}}, ""},
	}
	for name, c := range cases {
		if got := deploymentRollout(c.d); (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: %q", name, got)
		}
	}
}

func TestStatefulSetRollout(t *testing.T) {
	two, one := int32(2), int32(1)
	s := func(strategy appsv1.StatefulSetUpdateStrategy, st appsv1.StatefulSetStatus) *appsv1.StatefulSet {
		st.ObservedGeneration = 1
		return &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Generation: 1}, Spec: appsv1.StatefulSetSpec{Replicas: &two, UpdateStrategy: strategy}, Status: st}
	}
	rolling := appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType}
	partitioned := appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType,
		RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: &one}}
	cases := map[string]struct {
		s    *appsv1.StatefulSet
		done bool
	}{
		"complete":                {s(rolling, appsv1.StatefulSetStatus{ReadyReplicas: 2, UpdatedReplicas: 2, CurrentRevision: "b", UpdateRevision: "b"}), true},
		"revisions differ":        {s(rolling, appsv1.StatefulSetStatus{ReadyReplicas: 2, UpdatedReplicas: 1, CurrentRevision: "a", UpdateRevision: "b"}), false},
		"not ready":               {s(rolling, appsv1.StatefulSetStatus{ReadyReplicas: 1, CurrentRevision: "b", UpdateRevision: "b"}), false},
		"partition above done":    {s(partitioned, appsv1.StatefulSetStatus{ReadyReplicas: 2, UpdatedReplicas: 1, CurrentRevision: "a", UpdateRevision: "b"}), true},
		"partition above not":     {s(partitioned, appsv1.StatefulSetStatus{ReadyReplicas: 2, UpdatedReplicas: 0, CurrentRevision: "a", UpdateRevision: "b"}), false},
		"on delete: ready is all": {s(appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}, appsv1.StatefulSetStatus{ReadyReplicas: 2, CurrentRevision: "a", UpdateRevision: "b"}), true},
		"never observed":          {&appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Replicas: &two}}, false},
	}
	for name, c := range cases {
		if got := statefulSetRollout(c.s); (got == "") != c.done {
			t.Errorf("%s: %q", name, got)
		}
	}
}

func TestDaemonSetRollout(t *testing.T) {
	d := func(st appsv1.DaemonSetStatus) *appsv1.DaemonSet { return &appsv1.DaemonSet{Status: st} }
	for name, c := range map[string]struct {
		d    *appsv1.DaemonSet
		done bool
	}{
		"complete":      {d(appsv1.DaemonSetStatus{DesiredNumberScheduled: 2, UpdatedNumberScheduled: 2, NumberAvailable: 2}), true},
		"not updated":   {d(appsv1.DaemonSetStatus{DesiredNumberScheduled: 2, UpdatedNumberScheduled: 1, NumberAvailable: 2}), false},
		"not available": {d(appsv1.DaemonSetStatus{DesiredNumberScheduled: 2, UpdatedNumberScheduled: 2, NumberAvailable: 1}), false},
	} {
		if got := daemonSetRollout(c.d); (got == "") != c.done {
			t.Errorf("%s: %q", name, got)
		}
	}
}

func TestPullProblem(t *testing.T) {
	start := time.Now()
	pod := func(created time.Time, reason string) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", CreationTimestamp: metav1.NewTime(created)},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "bad:1"}}}}
		if reason != "" {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: "cannot pull"}}}}
		}
		return p
	}
	replaced := pod(start, "ImagePullBackOff")
	replaced.Spec.Containers[0].Image = "old:1"
	w := Workload{Kind: Deployment, Name: "web", Template: map[string]string{"web": "bad:1"}}
	for name, c := range map[string]struct {
		pods []corev1.Pod
		want string
	}{
		"pull back-off of a pod the operation made": {[]corev1.Pod{pod(start.Add(time.Second), "ImagePullBackOff")}, "ImagePullBackOff"},
		"invalid name":                       {[]corev1.Pod{pod(start, "InvalidImageName")}, "InvalidImageName"},
		"a pod from before (being replaced)": {[]corev1.Pod{pod(start.Add(-time.Minute), "ImagePullBackOff")}, ""},
		"still creating":                     {[]corev1.Pod{pod(start, "ContainerCreating")}, ""},
		"running":                            {[]corev1.Pod{pod(start, "")}, ""},
		"a pod of that second at an image replaced": {[]corev1.Pod{replaced}, ""},
	} {
		w.Pods = c.pods
		if got := pullProblem(w, start); (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: %q", name, got)
		}
	}
}
