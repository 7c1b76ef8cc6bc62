package cluster

import (
	"context"

	"github.com/envhub/envhub/shared/errs"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NamespaceVerbs are what every environment needs to do to its namespace
// (get also reads kube-system, the cluster's identity).
var NamespaceVerbs = []string{"create", "get", "patch", "delete"}

// Identity asks the cluster who the credential is (SelfSubjectReview) and
// whether it may do NamespaceVerbs to namespaces (SelfSubjectAccessReviews).
// It returns the user name.
func (c *Cluster) Identity(ctx context.Context) (string, error) {
	who, err := c.Typed.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", Err(err)
	}
	user := who.Status.UserInfo.Username
	for _, verb := range NamespaceVerbs {
		review, err := c.Typed.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: verb, Resource: "namespaces"}},
		}, metav1.CreateOptions{})
		if err != nil {
			return user, Err(err)
		}
		if !review.Status.Allowed {
			return user, errs.Forbidden("the credential may not %s namespaces on this cluster", verb)
		}
	}
	return user, nil
}
