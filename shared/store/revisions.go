package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
)

// MaxDesired bounds an environment's desired state (services, variables,
// configs) as stored.
const MaxDesired = 300 << 10

// MaxHosts bounds the Ingress hosts an environment claims: each claimed or
// freed host is an item of a transaction (DynamoDB: 100), its delete's too.
const MaxHosts = 40

func revisionKey(envID string, n int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: "REV#" + envID},
		attrSK: &types.AttributeValueMemberS{Value: fmt.Sprintf("%010d", n)},
	}
}

func revisionChunkKey(envID string, n, i int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: fmt.Sprintf("REVC#%s#%d", envID, n)},
		attrSK: &types.AttributeValueMemberS{Value: fmt.Sprintf("%04d", i)},
	}
}

// hostKey claims an Ingress host on a cluster (by its identity) for one environment.
func hostKey(e *model.Environment, host string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: "HOST#" + cmp.Or(e.ClusterUID, e.ClusterID)},
		attrSK: &types.AttributeValueMemberS{Value: host},
	}
}

// follow adds to t what goes with e's new desired state (old is as it
// was; empty for a create): the revision st makes and the Ingress hosts it
// claims or frees. It runs before e is put, as it sets e's fields for them.
func (s *Store) follow(t *txn, old, e *model.Environment, st Start) error {
	// The environment item (and its revision, which copies the desired
	// state) must stay inside DynamoDB's 400 KB.
	if b, _ := json.Marshal([]any{e.Services, e.Globals, e.Configs}); len(b) > MaxDesired {
		return errs.Invalid("environment", "its services, variables and configs take %d KiB: an environment holds at most %d KiB", len(b)>>10, MaxDesired>>10)
	}
	if st.Revision != nil {
		e.Revisions = old.Revisions + 1
		s.revise(t, e, st)
	}
	if e.RegistryID != "" && e.RegistryID != old.RegistryID {
		// The registry credential checked before must still be there when
		// this commits (a rollback, say, to one deleted meanwhile).
		t.add(types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: aws.String(s.table), Key: recordKey(model.KindCredential, e.RegistryID),
			ConditionExpression:       aws.String("#st = :active"),
			ExpressionAttributeNames:  map[string]string{"#st": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":active": &types.AttributeValueMemberS{Value: model.StatusActive}},
		}}, errs.Conflict("registry_id: credential %s was deleted meanwhile", e.RegistryID))
	}
	if st.Hosts != nil || st.Revision != nil {
		if err := s.claimHosts(t, e, old.Hosts, st.Hosts); err != nil {
			return err
		}
		e.Hosts = st.Hosts
	}
	return nil
}

// revise records e's revision number e.Revisions, made by st's operation.
func (s *Store) revise(t *txn, e *model.Environment, st Start) {
	rev := model.Revision{EnvironmentID: e.ID, N: e.Revisions, OperationID: st.Op.ID, Kind: st.Op.Kind, Change: st.Op.Input,
		By: e.UpdateBy, Time: s.now(), Chunks: len(st.Revision),
		RegistryID: e.RegistryID, Globals: e.Globals, Services: e.Services, Configs: e.Configs}
	it, _ := attributevalue.MarshalMap(rev)
	for k, v := range revisionKey(e.ID, rev.N) {
		it[k] = v
	}
	t.add(types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: it,
		ConditionExpression: aws.String("attribute_not_exists(PK)")}}, errVersion)
	for i, chunk := range st.Revision {
		k := revisionChunkKey(e.ID, rev.N, i)
		k["data"] = &types.AttributeValueMemberB{Value: chunk}
		t.add(types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: k}}, nil)
	}
}

// claimHosts claims the hosts e now routes that it did not (409 when another
// environment of the cluster holds one) and frees those it no longer does.
func (s *Store) claimHosts(t *txn, e *model.Environment, had, has []string) error {
	if len(has) > MaxHosts {
		return errs.Invalid("ingress", "routes %d hosts: an environment routes at most %d", len(has), MaxHosts)
	}
	var changes int
	for _, h := range has {
		if slices.Contains(had, h) {
			continue
		}
		changes++
		it := hostKey(e, h)
		it["environment_id"] = &types.AttributeValueMemberS{Value: e.ID}
		it["name"] = &types.AttributeValueMemberS{Value: e.ProjectKey + "/" + e.Key}
		t.add(types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: it,
			ConditionExpression:       aws.String("attribute_not_exists(PK) OR environment_id = :me"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":me": &types.AttributeValueMemberS{Value: e.ID}},
		}}, errs.Conflict("ingress host %s is already routed by another environment on this cluster", h))
	}
	for _, h := range had {
		if !slices.Contains(has, h) {
			changes++
			s.freeHost(t, e, h)
		}
	}
	if changes > MaxHosts {
		return errs.Invalid("ingress", "claims or frees %d hosts: one operation changes at most %d", changes, MaxHosts)
	}
	return nil
}

func (s *Store) freeHost(t *txn, e *model.Environment, h string) {
	t.add(types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.table), Key: hostKey(e, h),
		ConditionExpression:       aws.String("attribute_not_exists(PK) OR environment_id = :me"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":me": &types.AttributeValueMemberS{Value: e.ID}},
	}}, nil)
}

// GetRevision reads revision n of an environment.
func (s *Store) GetRevision(ctx context.Context, envID string, n int) (*model.Revision, error) {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: revisionKey(envID, n), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	if res.Item == nil {
		return nil, errs.NotFound("revision", fmt.Sprint(n))
	}
	var rev model.Revision
	return &rev, attributevalue.UnmarshalMap(res.Item, &rev)
}

// ListRevisions reads an environment's revisions numbered from..to
// (inclusive), newest first.
func (s *Store) ListRevisions(ctx context.Context, envID string, from, to int) ([]model.Revision, error) {
	if from < 1 {
		from = 1
	}
	out := []model.Revision{}
	if to < from {
		return out, nil
	}
	in := &dynamodb.QueryInput{TableName: &s.table, ScanIndexForward: aws.Bool(false),
		KeyConditionExpression: aws.String("PK = :pk AND SK BETWEEN :a AND :b"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": revisionKey(envID, 0)[attrPK], ":a": revisionKey(envID, from)[attrSK], ":b": revisionKey(envID, to)[attrSK]},
	}
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		var revs []model.Revision
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &revs); err != nil {
			return nil, err
		}
		out = append(out, revs...)
	}
	return out, nil
}

// RevisionObjects reads the sealed chunks of a revision's objects.
func (s *Store) RevisionObjects(ctx context.Context, rev *model.Revision) ([][]byte, error) {
	chunks := make([][]byte, rev.Chunks)
	for i := range chunks {
		res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: revisionChunkKey(rev.EnvironmentID, rev.N, i)})
		if err != nil {
			return nil, fmt.Errorf("revision %d chunk %d: %w", rev.N, i, err)
		}
		b, ok := res.Item["data"].(*types.AttributeValueMemberB)
		if !ok {
			return nil, fmt.Errorf("revision %d of %s: chunk %d is missing", rev.N, rev.EnvironmentID, i)
		}
		chunks[i] = b.Value
	}
	return chunks, nil
}
