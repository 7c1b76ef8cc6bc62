package cluster

import (
	"context"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// deploymentProblem is why a Deployment cannot progress: pods its
// ReplicaSet may not create (Pod Security, quota), or a rollout past its
// progress deadline.
func deploymentProblem(conds []appsv1.DeploymentCondition) string {
	for _, c := range conds {
		switch {
		case c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue:
			return c.Message
		case c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded":
			return c.Reason + ": " + c.Message
		}
	}
	return ""
}

// Problems names, in the apiserver's words, why workloads that are not
// ready cannot become ready: their own conditions, and pods the apiserver
// refused to create for them (FailedCreate events since since).
func (c *Cluster) Problems(ctx context.Context, namespace string, ws []Workload, since time.Time) ([]string, error) {
	var out []string
	owners := map[string]string{} // involved object kind/name -> workload
	for _, w := range ws {
		if w.IsReady() {
			continue
		}
		if w.Problem != "" {
			out = append(out, fmt.Sprintf("%s %s: %s", w.Kind, w.Name, w.Problem))
			continue
		}
		if p := pullProblem(w, since); p != "" {
			out = append(out, fmt.Sprintf("%s %s: %s", w.Kind, w.Name, p))
			continue
		}
		owners[w.Kind+"/"+w.Name] = w.Kind + " " + w.Name
	}
	if len(owners) == 0 {
		return out, nil
	}
	evs, err := c.Typed.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{FieldSelector: "type=Warning,reason=FailedCreate"})
	if err != nil {
		return nil, Err(err)
	}
	seen := map[string]bool{}
	for _, e := range evs.Items {
		at := e.LastTimestamp.Time
		if at.IsZero() {
			at = e.EventTime.Time
		}
		w, ok := owners[e.InvolvedObject.Kind+"/"+e.InvolvedObject.Name]
		if !ok || at.Before(since.Add(-time.Second)) || seen[w] {
			continue
		}
		seen[w] = true
		out = append(out, fmt.Sprintf("%s: %s", w, strings.TrimSpace(e.Message)))
	}
	return out, nil
}

// pullErrors are the waiting reasons of a container whose image the
// kubelet cannot pull (it retries, but a caller waiting on a rollout wants
// to know now).
var pullErrors = map[string]bool{"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true, "ErrImageNeverPull": true}

// pullProblem is the first image pull error of w's pods that the
// operation (started at since) made at w's current pod template: pods from
// before, or at an image it replaces, do not count, nor do other
// workloads' old troubles. (Creation times are in whole seconds, so the
// image tells a pod replaced in that second; an image an admission webhook
// rewrote is not recognized, and waits for the deadline.)
func pullProblem(w Workload, since time.Time) string {
	for _, p := range w.Pods {
		if p.CreationTimestamp.Time.Before(since.Add(-time.Second)) {
			continue
		}
		images := map[string]string{}
		for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
			images[c.Name] = c.Image
		}
		for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			if waiting := cs.State.Waiting; waiting != nil && pullErrors[waiting.Reason] && images[cs.Name] == w.Template[cs.Name] {
				return fmt.Sprintf("pod %s: container %s: %s: %s", p.Name, cs.Name, waiting.Reason, strings.TrimSpace(waiting.Message))
			}
		}
	}
	return ""
}
