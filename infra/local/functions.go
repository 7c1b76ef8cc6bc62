package local

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/envhub/envhub/functions/credential"
	"github.com/envhub/envhub/functions/label"
	"github.com/envhub/envhub/functions/runtimeenv"
	"github.com/envhub/envhub/functions/service"
	"github.com/envhub/envhub/infra/samtemplate"
	"github.com/envhub/envhub/shared/deps"
)

// Areas are the functions the local server runs, wired as their Lambda mains wire them.
var Areas = map[string]deps.Actions{
	"runtimeenv": runtimeenv.Actions,
	"credential": credential.Actions,
	"label":      label.Actions,
	"service":    service.Actions,
}

// Functions builds every area's handler behind the Lambda adapter.
func Functions(d *deps.Deps) (map[string]Function, error) {
	out := map[string]Function{}
	for name, actions := range Areas {
		h, err := deps.Handler(name, d, actions)
		if err != nil {
			return nil, err
		}
		out[name] = httpadapter.NewV2(h)
	}
	return out, nil
}

// EnsureTable creates the table from template.yaml's definition unless it
// exists, and waits until it is active.
func EnsureTable(ctx context.Context, db *dynamodb.Client, name string) error {
	tpl, err := samtemplate.Load(samtemplate.Path())
	if err != nil {
		return err
	}
	in, err := tpl.Table(name)
	if err != nil {
		return err
	}
	_, err = db.CreateTable(ctx, in)
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	return dynamodb.NewTableExistsWaiter(db).Wait(ctx, &dynamodb.DescribeTableInput{TableName: &name}, time.Minute)
}
