package local

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/envhub/envhub/functions/credential"
	"github.com/envhub/envhub/functions/envcfg"
	"github.com/envhub/envhub/functions/envflow"
	"github.com/envhub/envhub/functions/environment"
	"github.com/envhub/envhub/functions/label"
	"github.com/envhub/envhub/functions/logs"
	"github.com/envhub/envhub/functions/maintenance"
	"github.com/envhub/envhub/functions/runtimeenv"
	"github.com/envhub/envhub/functions/service"
	"github.com/envhub/envhub/functions/workload"
	"github.com/envhub/envhub/infra/samtemplate"
	"github.com/envhub/envhub/shared/deps"
	"github.com/envhub/envhub/shared/workflow"
)

// Areas are the functions the local server runs, wired as their Lambda mains wire them.
var Areas = map[string]deps.Actions{
	"runtimeenv":  runtimeenv.Actions,
	"credential":  credential.Actions,
	"label":       label.Actions,
	"service":     service.Actions,
	"environment": environment.Actions,
	"envcfg":      envcfg.Actions,
	"workload":    workload.Actions,
	"logs":        logs.Actions,
}

// Streaming are the areas whose responses the local server streams (as a
// Lambda Function URL in RESPONSE_STREAM mode does) instead of buffering
// them as the HTTP API does: the live logs follow.
var Streaming = map[string]bool{"logs": true}

// Tasks are the functions the local Lambda Invoke API runs: state machine
// tasks, scheduled maintenance, and the logs function's stream workers
// (it invokes itself, asynchronously).
var Tasks = map[string]func(*deps.Deps) workflow.Task{
	"envflow":     envflow.Task,
	"maintenance": maintenance.Task,
	"logs": func(d *deps.Deps) workflow.Task {
		f, err := logs.NewFunction(d)
		if err != nil {
			panic(err) // the route table and the function disagree: a bug
		}
		return f.Invoke
	},
}

// SocketFunctions builds the WebSocket API's functions (routes.Sockets).
func SocketFunctions(d *deps.Deps) (map[string]SocketFunction, error) {
	f, err := logs.NewFunction(d)
	if err != nil {
		return nil, err
	}
	return map[string]SocketFunction{"logs": f}, nil
}

// Config completes cfg for functions served by the local server at url:
// the state machines on the local engine, the local issuer's key set for
// functions that verify tokens themselves, the WebSocket API's management
// endpoint, and the Lambda Invoke API, all signed with creds.
func Config(cfg deps.Config, url string, creds Credentials) deps.Config {
	cfg.AllowLoopback = true
	cfg.Workflow = Workflow(url, creds)
	cfg.JWTIssuer, cfg.JWTAudience, cfg.JWKSURL = Issuer, []string{Audience}, url+JWKSPath
	cfg.WebSocketEndpoint = url + "/" + Stage
	cfg.LambdaEndpoint, cfg.Self = url, "logs"
	cfg.Signing = credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretKey, "")
	return cfg
}

// TaskHandlers builds every task function from Deps.
func TaskHandlers(d *deps.Deps) map[string]workflow.Task {
	out := map[string]workflow.Task{}
	for name, build := range Tasks {
		out[name] = build(d)
	}
	return out
}

// Machines are the state machines, by name (template.yaml's resources
// define the same, from the same files).
var Machines = []string{"env-create", "env-update", "env-delete"}

// Workflow runs the repository's state machine definitions on the local
// engine, their Lambda tasks invoked at lambdaURL (the local server),
// signed with creds.
func Workflow(lambdaURL string, creds Credentials) *workflow.Local {
	root := filepath.Dir(samtemplate.Path())
	defs := map[string]string{}
	for _, m := range Machines {
		defs[m] = filepath.Join(root, "infra", "statemachines", m+".asl.json")
	}
	return &workflow.Local{
		Runner:         filepath.Join(root, "scripts", "sfn", "run.mjs"),
		Definitions:    defs,
		Substitutions:  map[string]string{"EnvflowFunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:envflow"},
		LambdaEndpoint: lambdaURL,
		AccessKeyID:    creds.AccessKeyID,
		SecretKey:      creds.SecretKey,
	}
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
		if Streaming[name] {
			out[name] = streamed{httpadapter.NewV2(h), h}
		}
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
