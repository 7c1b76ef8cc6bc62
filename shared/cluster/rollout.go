package cluster

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
)

// The rollout checks below are kubectl rollout status's: a workload's
// rollout is complete once its controller has seen its current spec and
// every replica runs the current pod template and is available. Ready
// replicas alone are not enough: right after a change they are still the
// old ones.

func deploymentRollout(d *appsv1.Deployment) string {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	switch {
	case d.Generation > st.ObservedGeneration:
		return "waiting for the deployment's spec update to be observed"
	case st.UpdatedReplicas < want:
		return fmt.Sprintf("%d of %d updated replicas", st.UpdatedReplicas, want)
	case st.Replicas > st.UpdatedReplicas:
		return fmt.Sprintf("%d old replicas are pending termination", st.Replicas-st.UpdatedReplicas)
	case st.AvailableReplicas < st.UpdatedReplicas:
		return fmt.Sprintf("%d of %d updated replicas are available", st.AvailableReplicas, st.UpdatedReplicas)
	}
	return ""
}

func statefulSetRollout(s *appsv1.StatefulSet) string {
	want := int32(1)
	if s.Spec.Replicas != nil {
		want = *s.Spec.Replicas
	}
	st := s.Status
	switch {
	case st.ObservedGeneration == 0 || s.Generation > st.ObservedGeneration:
		return "waiting for the statefulset's spec update to be observed"
	case st.ReadyReplicas < want:
		return fmt.Sprintf("%d of %d replicas ready", st.ReadyReplicas, want)
	case s.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType:
		return "" // its pods change only when deleted: nothing to wait for
	case s.Spec.UpdateStrategy.RollingUpdate != nil && s.Spec.UpdateStrategy.RollingUpdate.Partition != nil && *s.Spec.UpdateStrategy.RollingUpdate.Partition > 0:
		if p := *s.Spec.UpdateStrategy.RollingUpdate.Partition; st.UpdatedReplicas < want-p {
			return fmt.Sprintf("%d of %d replicas above the partition updated", st.UpdatedReplicas, want-p)
		}
		return ""
	case st.UpdateRevision != st.CurrentRevision:
		return fmt.Sprintf("%d of %d replicas updated", st.UpdatedReplicas, want)
	}
	return ""
}

func daemonSetRollout(d *appsv1.DaemonSet) string {
	st := d.Status
	switch {
	case d.Generation > st.ObservedGeneration:
		return "waiting for the daemon set's spec update to be observed"
	case d.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType:
		return ""
	case st.UpdatedNumberScheduled < st.DesiredNumberScheduled:
		return fmt.Sprintf("%d of %d updated pods", st.UpdatedNumberScheduled, st.DesiredNumberScheduled)
	case st.NumberAvailable < st.DesiredNumberScheduled:
		return fmt.Sprintf("%d of %d updated pods are available", st.NumberAvailable, st.DesiredNumberScheduled)
	}
	return ""
}
