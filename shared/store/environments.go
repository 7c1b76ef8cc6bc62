package store

import (
	"cmp"
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/page"
)

func envScope(projectID, key string) string { return "env#" + projectID + "#" + key }

// nsScope reserves a namespace of a cluster, by the cluster's identity (its
// kube-system UID), for one environment: two environments never share, or
// delete, one namespace, however many runtime envs name the cluster.
func nsScope(clusterUID, namespace string) string { return "ns#" + clusterUID + "#" + namespace }

// onCluster lists the environments of a runtime env, so a refused detach
// or delete can name them.
func onCluster(runtimeEnvID, envID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: "M#" + runtimeEnvID},
		attrSK: &types.AttributeValueMemberS{Value: envID},
	}
}

// CreateEnvironment stores a new environment with its create operation and
// plan, in one transaction with its project (whose count of environments it
// bumps), the reservations of its key and namespace and, if given, of the
// idempotency key, after check approves the project as read in it.
func (s *Store) CreateEnvironment(ctx context.Context, e *model.Environment, st Start, check func(*model.Project) error) error {
	s.stamp(&e.Record)
	err := s.withProject(ctx, e.ProjectID, func(p *model.Project, t *txn) error {
		if err := check(p); err != nil {
			return err
		}
		// The idempotency reservation goes first: a replay must be told
		// apart from a key taken by another create.
		s.idempotent(t, st)
		p.Environments++
		e.Visibility = p.Visibility
		e.OperationID = st.Op.ID
		if err := s.follow(t, &model.Environment{}, e, st); err != nil {
			return err
		}
		s.countUses(t, e, nil)
		it, err := item(model.KindEnvironment, e, &e.Record, e.Key, e.ProjectID)
		if err != nil {
			return err
		}
		t.put(s.table, it, 0, errs.Conflict("environment %s already exists", e.ID))
		t.reserve(s.table, envScope(p.ID, e.Key), e.ID, errs.Conflict("env_key %q is already used in project %s", e.Key, p.Key))
		t.reserveNamespace(s.table, nsScope(e.ClusterUID, e.Namespace), e.ID, e.AdoptNamespace,
			errs.Conflict("namespace %s of this cluster is reserved by another environment (or kept after one was deleted: an admin may adopt it)", e.Namespace))
		t.count(model.KindEnvironment, &e.Record, 1)
		// The cluster must still be usable when this commits: a credential
		// detach in between would otherwise strand the environment.
		t.add(types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: aws.String(s.table), Key: recordKey(model.KindRuntimeEnv, e.ClusterID),
			ConditionExpression:       aws.String("#st = :active AND attribute_exists(credential_id)"),
			ExpressionAttributeNames:  map[string]string{"#st": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":active": &types.AttributeValueMemberS{Value: model.StatusActive}},
		}}, errs.Conflict("cluster_id: runtime env %s is deleted or has no credential attached", e.ClusterID))
		t.bump(usesOf(e.ClusterID), 1)
		member := onCluster(e.ClusterID, e.ID)
		member["name"] = &types.AttributeValueMemberS{Value: e.ProjectKey + "/" + e.Key}
		t.add(types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: member}}, nil)
		return s.startOp(t, e, st)
	})
	return s.replayed(ctx, st, err)
}

// reserveNamespace is reserve for a namespace; adopting (admins) may also
// take over a namespace kept after its environment was deleted.
func (t *txn) reserveNamespace(table, scope, id string, adopt bool, taken error) {
	it := reservationKey(scope)
	it["id"] = &types.AttributeValueMemberS{Value: id}
	p := &types.Put{TableName: aws.String(table), Item: it, ConditionExpression: aws.String("attribute_not_exists(PK)")}
	if adopt {
		p.ConditionExpression = aws.String("attribute_not_exists(PK) OR retained = :t")
		p.ExpressionAttributeValues = map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}}
	}
	t.add(types.TransactWriteItem{Put: p}, taken)
}

// retainNamespace keeps a namespace reserved after its environment is gone
// (isDelete=false): it stays out of reach until an admin adopts it.
func (t *txn) retainNamespace(table, scope, id string) {
	it := reservationKey(scope)
	it["id"] = &types.AttributeValueMemberS{Value: id}
	it["retained"] = &types.AttributeValueMemberBOOL{Value: true}
	t.add(types.TransactWriteItem{Put: &types.Put{TableName: aws.String(table), Item: it}}, nil)
}

// EnvironmentByKey reads an environment of a project by its key.
func (s *Store) EnvironmentByKey(ctx context.Context, projectID, key string) (*model.Environment, error) {
	var e *model.Environment
	err := s.byKey(ctx, envScope(projectID, key), "environment", key, func(id string) (bool, error) {
		var err error
		e, err = s.GetEnvironment(ctx, id)
		return err == nil && e.Status != model.StatusDeleted, err
	})
	return e, err
}

// GetEnvironment reads an environment by id.
func (s *Store) GetEnvironment(ctx context.Context, id string) (*model.Environment, error) {
	var e model.Environment
	if err := s.get(ctx, model.KindEnvironment, id, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// UpdateEnvironment applies fn to an environment that runs no operation,
// under a version check with retries (changes that touch the cluster start
// an operation instead: StartOperation).
func (s *Store) UpdateEnvironment(ctx context.Context, id string, fn func(*model.Environment) error) (*model.Environment, error) {
	var out *model.Environment
	err := retry(ctx, func() error {
		old, e, err := s.idle(ctx, id, fn)
		if err != nil {
			return err
		}
		t := &txn{}
		if err := s.putEnvironment(ctx, t, e, old, nil); err != nil {
			return err
		}
		if err := s.commit(ctx, t); err != nil {
			return err
		}
		out = e
		return nil
	})
	return out, err
}

// idle reads an environment that runs no operation (else 409, naming the
// one it runs) and applies fn to a copy.
func (s *Store) idle(ctx context.Context, id string, fn func(*model.Environment) error) (old, e *model.Environment, err error) {
	if old, err = s.GetEnvironment(ctx, id); err != nil {
		return nil, nil, err
	}
	if old.OperationID != "" {
		return nil, nil, errs.Conflict("environment %s is busy with operation %s", old.Key, old.OperationID)
	}
	cp := *old
	return old, &cp, fn(&cp)
}

// putEnvironment adds e (changed from old) to t. An environment turning
// deleted frees its key, its namespace (kept reserved when a delete retains
// it), its cluster's use and its project's count.
func (s *Store) putEnvironment(ctx context.Context, t *txn, e, old *model.Environment, op *model.Operation) error {
	if e.Status != old.Status {
		e.StatusTime = s.now()
	}
	s.bump(&e.Record, old.Version)
	s.countUses(t, e, old.Counted)
	if e.Status == model.StatusDeleted && old.Status != model.StatusDeleted && !(op != nil && op.Kind == model.OpDelete && !op.IsDelete) {
		// Its Ingresses are gone with it (a kept namespace keeps them, and the hosts).
		for _, h := range old.Hosts {
			s.freeHost(t, e, h)
		}
		e.Hosts = nil
	}
	it, err := item(model.KindEnvironment, e, &e.Record, e.Key, e.ProjectID)
	if err != nil {
		return err
	}
	t.put(s.table, it, old.Version, errVersion)
	t.count(model.KindEnvironment, &old.Record, -1)
	t.count(model.KindEnvironment, &e.Record, 1)
	if e.Status != model.StatusDeleted || old.Status == model.StatusDeleted {
		return nil
	}
	t.release(s.table, envScope(e.ProjectID, e.Key))
	// Environments from before cluster identities reserved by runtime env id.
	ns := nsScope(cmp.Or(e.ClusterUID, e.ClusterID), e.Namespace)
	if op != nil && op.Kind == model.OpDelete && !op.IsDelete {
		t.retainNamespace(s.table, ns, e.ID)
	} else {
		t.release(s.table, ns)
	}
	t.bump(usesOf(e.ClusterID), -1)
	t.add(types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.table), Key: onCluster(e.ClusterID, e.ID)}}, nil)
	return s.projectEnvGone(ctx, t, e.ProjectID)
}

// projectEnvGone decrements the project's environment count in t.
func (s *Store) projectEnvGone(ctx context.Context, t *txn, projectID string) error {
	var old model.Project
	if err := s.get(ctx, model.KindProject, projectID, &old); err != nil {
		return err
	}
	p := old
	p.Environments--
	return s.putProject(t, &p, &old)
}

// EnvironmentsOn names (project/env key) up to limit environments living
// on a runtime env.
func (s *Store) EnvironmentsOn(ctx context.Context, runtimeEnvID string, limit int) ([]string, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: &s.table, KeyConditionExpression: aws.String("PK = :pk"), Limit: aws.Int32(int32(limit)),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "M#" + runtimeEnvID}},
	})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(out.Items))
	for _, it := range out.Items {
		names = append(names, str(it, "name"))
	}
	return names, nil
}

// inUse is the 409 of a change refused while environments live on a runtime env.
func (s *Store) inUse(ctx context.Context, runtimeEnvID, what string) error {
	names, err := s.EnvironmentsOn(ctx, runtimeEnvID, 20)
	if err != nil {
		return err
	}
	return errs.Conflict("runtime env %s serves environments %v: delete them before %s", runtimeEnvID, names, what)
}

// errInUse marks a transaction refused by the uses counter (see unused).
var errInUse = errors.New("runtime env in use")

// ListEnvironments lists a project's environments of one type, newest
// first; the caller's right to read the project has been checked.
func (s *Store) ListEnvironments(ctx context.Context, projectID, envType string, p page.Page) ([]model.Environment, *Result, error) {
	res, err := s.list(ctx, model.KindEnvironment, List{Parent: projectID, ParentChecked: true, Page: p,
		Filter: Filter{Equals: map[string]string{"env_type": envType}}})
	if err != nil {
		return nil, nil, err
	}
	out := make([]model.Environment, len(res.Items))
	return out, res, attributevalue.UnmarshalListOfMaps(res.Items, &out)
}
