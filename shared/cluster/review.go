package cluster

import (
	"context"

	"github.com/envhub/envhub/shared/errs"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Identity asks the cluster who the credential is (SelfSubjectReview) and
// whether it may create namespaces (SelfSubjectAccessReview), which every
// environment needs. It returns the user name.
func (c *Cluster) Identity(ctx context.Context) (string, error) {
	who, err := c.Typed.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", Err(err)
	}
	user := who.Status.UserInfo.Username
	review, err := c.Typed.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "create", Resource: "namespaces"}},
	}, metav1.CreateOptions{})
	if err != nil {
		return user, Err(err)
	}
	if !review.Status.Allowed {
		return user, errs.Forbidden("user %q may not create namespaces on this cluster", user)
	}
	return user, nil
}
