package cluster

import (
	"context"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ListObjects lists the objects of one kind in namespace (all of them,
// envhub's and others'), in one List call per page of 500.
func (c *Cluster) ListObjects(ctx context.Context, apiVersion, kind, namespace string) ([]unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	ri, err := c.resource(u, namespace)
	if err != nil {
		return nil, err
	}
	var out []unstructured.Unstructured
	opts := metav1.ListOptions{Limit: 500}
	for {
		l, err := ri.List(ctx, opts)
		if err != nil {
			return nil, Err(err)
		}
		out = append(out, l.Items...)
		if opts.Continue = l.GetContinue(); opts.Continue == "" {
			return out, nil
		}
	}
}

// RoutedHost is an Ingress host and the Ingress routing it.
type RoutedHost struct {
	Host      string
	Namespace string
	Name      string
}

// IngressHosts lists the hosts (of rules and of TLS, lowercased) that live
// Ingresses route in every namespace of the cluster but except. A
// credential that may not list Ingresses cluster-wide gets errs.ErrForbidden.
func (c *Cluster) IngressHosts(ctx context.Context, except string) ([]RoutedHost, error) {
	var out []RoutedHost
	opts := metav1.ListOptions{Limit: 500}
	for {
		l, err := c.Typed.NetworkingV1().Ingresses(metav1.NamespaceAll).List(ctx, opts)
		if err != nil {
			return nil, Err(err)
		}
		for _, ing := range l.Items {
			if ing.Namespace == except {
				continue
			}
			for _, h := range ingressHosts(&ing) {
				out = append(out, RoutedHost{Host: h, Namespace: ing.Namespace, Name: ing.Name})
			}
		}
		if opts.Continue = l.Continue; opts.Continue == "" {
			return out, nil
		}
	}
}

func ingressHosts(ing *networkingv1.Ingress) []string {
	var hosts []string
	for _, r := range ing.Spec.Rules {
		hosts = append(hosts, strings.ToLower(r.Host))
	}
	for _, t := range ing.Spec.TLS {
		for _, h := range t.Hosts {
			hosts = append(hosts, strings.ToLower(h))
		}
	}
	slices.Sort(hosts)
	hosts = slices.Compact(hosts)
	return slices.DeleteFunc(hosts, func(h string) bool { return h == "" })
}
