package cluster_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
)

func fresh(t *testing.T, c *cluster.Cluster) string {
	name := fmt.Sprintf("c-%d", time.Now().UnixNano()%1_000_000_000)
	t.Cleanup(func() { _ = c.DeleteNamespace(ctx(t), name, false) })
	return name
}

// A namespace is claimed by one environment: created and marked for it,
// taken again by it (a retried task), refused to others, and taken over
// only by an explicit adoption; retention and release change the marks.
func TestClaimNamespace(t *testing.T) {
	c, _ := connect(t)
	ns := fresh(t, c)
	claim := cluster.Claim{Environment: "env-a", Labels: cluster.PodSecurityLabels("baseline")}
	if created, err := c.ClaimNamespace(ctx(t), ns, claim); err != nil || !created {
		t.Fatalf("first claim: %v %v", created, err)
	}
	got, _ := c.Namespace(ctx(t), ns)
	if got.Labels[cluster.MarkEnvironment] != "env-a" || got.Labels["pod-security.kubernetes.io/enforce"] != "baseline" || got.Annotations[cluster.MarkCreatedBy] != "env-a" {
		t.Fatalf("marks %v %v", got.Labels, got.Annotations)
	}
	if created, err := c.ClaimNamespace(ctx(t), ns, claim); err != nil || !created {
		t.Fatalf("claim again: %v %v", created, err)
	}
	other := cluster.Claim{Environment: "env-b", Labels: cluster.PodSecurityLabels("restricted")}
	if _, err := c.ClaimNamespace(ctx(t), ns, other); !errors.Is(err, errs.ErrConflict) || !strings.Contains(err.Error(), "another environment") || strings.Contains(err.Error(), "env-a") {
		t.Fatalf("another environment's claim: %v", err)
	}
	if err := c.RetainNamespace(ctx(t), ns); err != nil {
		t.Fatal(err)
	}
	if owner, retained, exists, err := c.NamespaceOwner(ctx(t), ns); owner != "env-a" || !retained || !exists || err != nil {
		t.Fatalf("owner %q retained %v exists %v: %v", owner, retained, exists, err)
	}
	other.Adopt = true
	if created, err := c.ClaimNamespace(ctx(t), ns, other); err != nil || created {
		t.Fatalf("adopting a retained namespace: created %v, %v", created, err)
	}
	got, _ = c.Namespace(ctx(t), ns)
	if got.Labels[cluster.MarkEnvironment] != "env-b" || got.Labels[cluster.MarkRetained] != "" || got.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Fatalf("after adoption %v", got.Labels)
	}
	if err := c.ReleaseNamespace(ctx(t), ns, map[string]string{"s-env": "x"}); err != nil {
		t.Fatal(err)
	}
	if owner, _, _, _ := c.NamespaceOwner(ctx(t), ns); owner != "" {
		t.Fatalf("released namespace still marked for %q", owner)
	}

	// A namespace envhub did not create is refused unless adopted, and an
	// adopted one is not envhub's to delete.
	foreign := fresh(t, c)
	if _, err := c.Typed.CoreV1().Namespaces().Create(ctx(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: foreign}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ClaimNamespace(ctx(t), foreign, claim); !errors.Is(err, errs.ErrConflict) || !strings.Contains(err.Error(), "did not create") {
		t.Fatalf("claiming a foreign namespace: %v", err)
	}
	claim.Adopt = true
	if created, err := c.ClaimNamespace(ctx(t), foreign, claim); err != nil || created {
		t.Fatalf("adopting a foreign namespace: created %v, %v", created, err)
	}
	if err := c.DeleteNamespace(ctx(t), ns, true); err != nil {
		t.Fatal(err)
	}
	if _, _, exists, err := c.NamespaceOwner(ctx(t), ns); exists || err != nil {
		t.Fatalf("after delete: exists %v, %v", exists, err)
	}
}

// The apiserver enforces the Pod Security level envhub labels a namespace
// with: baseline refuses a privileged pod, restricted also one that may run
// as root; each allows what its level allows.
func TestPodSecurityLevels(t *testing.T) {
	c, _ := connect(t)
	privileged := corev1.PodSpec{HostPID: true, Containers: []corev1.Container{{Name: "x", Image: "busybox",
		SecurityContext: &corev1.SecurityContext{Privileged: ptr(true)}}}}
	plain := corev1.PodSpec{Containers: []corev1.Container{{Name: "x", Image: "busybox"}}}
	hardened := corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Containers: []corev1.Container{{Name: "x", Image: "busybox", SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}},
	}
	for _, c2 := range []struct {
		level string
		pod   corev1.PodSpec
		ok    bool
	}{
		{"baseline", privileged, false},
		{"baseline", plain, true},
		{"restricted", plain, false},
		{"restricted", hardened, true},
	} {
		ns := fresh(t, c)
		if _, err := c.ClaimNamespace(ctx(t), ns, cluster.Claim{Environment: "env-psa", Labels: cluster.PodSecurityLabels(c2.level)}); err != nil {
			t.Fatal(err)
		}
		_, err := c.Typed.CoreV1().Pods(ns).Create(ctx(t), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: c2.pod}, metav1.CreateOptions{})
		if c2.ok && err != nil || !c2.ok && (err == nil || !strings.Contains(err.Error(), "violates PodSecurity")) {
			t.Errorf("%s: pod admitted = %v, want %v (%v)", c2.level, err == nil, c2.ok, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// A ref recorded at an API version the cluster no longer serves (say,
// before an upgrade) still deletes the object, at the kind's version now.
func TestDeleteAtAVersionGone(t *testing.T) {
	c, _ := connect(t)
	ns := namespace(t, c)
	objs, err := cluster.Decode([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: old}\nspec:\n  selector: {matchLabels: {app: old}}\n  template:\n    metadata: {labels: {app: old}}\n    spec: {containers: [{name: m, image: nginx}]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ApplyObjects(ctx(t), ns, objs, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx(t), []cluster.Ref{{APIVersion: "apps/v1beta1", Kind: "Deployment", Namespace: ns, Name: "old"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx(t), "apps/v1", "Deployment", ns, "old"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}
