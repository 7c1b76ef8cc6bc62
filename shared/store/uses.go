package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/page"
)

// What an environment's desired state uses besides its cluster is counted,
// so that deleting it while environments use it is refused (409): its
// registry credential (uses|<id>, listed under M#<id>) and its services'
// templates (one item per project counting each template's users, so an
// environment of many services costs one transaction item).

const templateUsePrefix = "template:"

func templateUsesKey(projectID string) map[string]types.AttributeValue {
	return counterKey("template-uses|" + projectID)
}

// usedBy lists what e counts as using now: nothing once it is deleted.
func usedBy(e *model.Environment) []string {
	if e.Status == model.StatusDeleted {
		return nil
	}
	var out []string
	if e.RegistryID != "" {
		out = append(out, e.RegistryID)
	}
	for _, s := range e.Services {
		out = append(out, templateUsePrefix+s.Name)
	}
	return out
}

// countUses adds to t the changes of what e uses since it counted had, and
// records what it counts now.
func (s *Store) countUses(t *txn, e *model.Environment, had []string) {
	has := usedBy(e)
	tpl := map[string]int{}
	for _, u := range has {
		if !slices.Contains(had, u) {
			s.use(t, e, u, 1, tpl)
		}
	}
	for _, u := range had {
		if !slices.Contains(has, u) {
			s.use(t, e, u, -1, tpl)
		}
	}
	e.Counted = has
	if len(tpl) == 0 {
		return
	}
	var sets []string
	names, values := map[string]string{}, map[string]types.AttributeValue{}
	i := 0
	for name, d := range tpl {
		if d == 0 {
			continue
		}
		n, v := fmt.Sprintf("#t%d", i), fmt.Sprintf(":t%d", i)
		names[n], values[v] = templateUsePrefix+name, num(int64(d))
		sets = append(sets, n+" "+v)
		i++
	}
	if len(sets) == 0 {
		return
	}
	t.add(types.TransactWriteItem{Update: &types.Update{TableName: aws.String(s.table), Key: templateUsesKey(e.ProjectID),
		UpdateExpression: aws.String("ADD " + strings.Join(sets, ", ")), ExpressionAttributeNames: names, ExpressionAttributeValues: values}}, nil)
}

func (s *Store) use(t *txn, e *model.Environment, u string, d int, tpl map[string]int) {
	if name, ok := strings.CutPrefix(u, templateUsePrefix); ok {
		tpl[name] += d
		return
	}
	t.bump(usesOf(u), d)
	member := onCluster(u, e.ID)
	if d < 0 {
		t.add(types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.table), Key: member}}, nil)
		return
	}
	member["name"] = &types.AttributeValueMemberS{Value: e.ProjectKey + "/" + e.Key}
	t.add(types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: member}}, nil)
}

// templateUnused refuses t while environments use a project's template.
func (t *txn) templateUnused(table, projectID, name string, inUse error) {
	t.add(types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: aws.String(table), Key: templateUsesKey(projectID),
		ConditionExpression:       aws.String("attribute_not_exists(#n) OR #n <= :zero"),
		ExpressionAttributeNames:  map[string]string{"#n": templateUsePrefix + name},
		ExpressionAttributeValues: map[string]types.AttributeValue{":zero": num(0)},
	}}, inUse)
}

// TemplateUsers names (env keys) up to 20 environments of a project whose
// services use a template.
func (s *Store) TemplateUsers(ctx context.Context, projectID, name string) ([]string, error) {
	var out []string
	for _, typ := range []string{model.EnvTest, model.EnvProduction} {
		p := page.Page{Number: 1, Size: 100}
		for {
			envs, res, err := s.ListEnvironments(ctx, projectID, typ, p)
			if err != nil {
				return nil, err
			}
			for _, e := range envs {
				if slices.ContainsFunc(e.Services, func(sv model.EnvService) bool { return sv.Name == name }) && len(out) < 20 {
					out = append(out, e.Key)
				}
			}
			if !res.More || len(out) >= 20 {
				break
			}
			p.After, p.Number = res.Last, p.Number+1
		}
	}
	return out, nil
}

// errTemplateInUse marks a template delete refused by its users' count.
var errTemplateInUse = errs.Conflict("the template is used by environments")
