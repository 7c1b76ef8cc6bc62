// Package deps builds, from the process environment, what every function's
// handlers depend on, and starts a function under Lambda. Mains stay tiny.
package deps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdaurl"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/auth"
	"github.com/envhub/envhub/shared/awserr"
	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/netguard"
	"github.com/envhub/envhub/shared/plan"
	"github.com/envhub/envhub/shared/probe"
	"github.com/envhub/envhub/shared/qingcloud"
	"github.com/envhub/envhub/shared/secrets"
	"github.com/envhub/envhub/shared/socket"
	"github.com/envhub/envhub/shared/store"
	"github.com/envhub/envhub/shared/workflow"
)

// Config names the resources; in Lambda it comes from template.yaml's environment.
type Config struct {
	Table          string // TABLE_NAME
	DynamoEndpoint string // DYNAMODB_ENDPOINT: DynamoDB Local; empty in AWS
	KMSKeyID       string // KMS_KEY_ID: credential encryption key in AWS
	KeyFile        string // LOCAL_KEY_FILE: local stand-in for the KMS key
	AllowLoopback  bool   // ALLOW_LOOPBACK=1: only the local server sets it
	// State machines: ENV_CREATE_STATE_MACHINE_ARN, ENV_UPDATE_STATE_MACHINE_ARN
	// and ENV_DELETE_STATE_MACHINE_ARN in AWS; the local server and tests set
	// Workflow instead.
	StateMachineARNs map[string]string
	Workflow         workflow.Runner
	// Functions that verify tokens themselves (the WebSocket API's
	// $connect, a Function URL): JWT_ISSUER, JWT_AUDIENCE (comma list) and
	// the issuer's key set, JWKS_URL (default: its OpenID configuration's jwks_uri).
	JWTIssuer   string
	JWTAudience []string
	JWKSURL     string
	// WEBSOCKET_ENDPOINT: the WebSocket API stage's management endpoint
	// (https://{api}.execute-api.{region}.amazonaws.com/{stage}).
	WebSocketEndpoint string
	// Self is this function's name, to invoke itself asynchronously
	// (AWS_LAMBDA_FUNCTION_NAME, set by Lambda).
	Self string
	// Local only: the Lambda Invoke API's endpoint and the credentials the
	// local server accepts SigV4 signatures from (for Lambda and @connections).
	LambdaEndpoint string
	Signing        aws.CredentialsProvider
}

// ConfigFromEnv reads Config from the environment.
func ConfigFromEnv() Config {
	return Config{
		Table:          os.Getenv("TABLE_NAME"),
		DynamoEndpoint: os.Getenv("DYNAMODB_ENDPOINT"),
		KMSKeyID:       os.Getenv("KMS_KEY_ID"),
		KeyFile:        os.Getenv("LOCAL_KEY_FILE"),
		AllowLoopback:  os.Getenv("ALLOW_LOOPBACK") == "1",
		StateMachineARNs: map[string]string{
			"env-create": os.Getenv("ENV_CREATE_STATE_MACHINE_ARN"),
			"env-update": os.Getenv("ENV_UPDATE_STATE_MACHINE_ARN"),
			"env-delete": os.Getenv("ENV_DELETE_STATE_MACHINE_ARN"),
		},
		JWTIssuer:         os.Getenv("JWT_ISSUER"),
		JWTAudience:       splitList(os.Getenv("JWT_AUDIENCE")),
		JWKSURL:           os.Getenv("JWKS_URL"),
		WebSocketEndpoint: os.Getenv("WEBSOCKET_ENDPOINT"),
		Self:              os.Getenv("AWS_LAMBDA_FUNCTION_NAME"),
	}
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Deps are the dependencies handlers are built from.
type Deps struct {
	Store    *store.Store
	DB       *dynamodb.Client
	Sealer   secrets.Sealer
	Probe    probe.Probes
	Policy   netguard.Policy
	Workflow workflow.Runner
	// Verifier checks tokens where no authorizer did (nil: JWT_ISSUER unset).
	Verifier *auth.Verifier
	// Connections posts to WebSocket clients; Invoker starts this function
	// again asynchronously (a log stream's next worker).
	Connections *socket.Connections
	Invoker     Invoker
}

// Invoker invokes a function asynchronously (InvocationType Event).
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) error
}

// selfInvoker invokes one function by name through the Lambda API.
type selfInvoker struct {
	client *awslambda.Client
	name   string
}

var _ Invoker = selfInvoker{}

func (s selfInvoker) Invoke(ctx context.Context, payload []byte) error {
	if s.name == "" {
		return errors.New("no function to invoke (AWS_LAMBDA_FUNCTION_NAME)")
	}
	_, err := s.client.Invoke(ctx, &awslambda.InvokeInput{FunctionName: &s.name, InvocationType: lambdatypes.InvocationTypeEvent, Payload: payload})
	return awserr.Classify("Lambda", err)
}

// Load builds Deps for cfg.
func Load(ctx context.Context, cfg Config) (*Deps, error) {
	if cfg.Table == "" {
		return nil, errors.New("TABLE_NAME is not set")
	}
	var opts []func(*config.LoadOptions) error
	if cfg.DynamoEndpoint != "" {
		// DynamoDB Local accepts any credentials; fixed ones keep a developer's real ones out of it.
		opts = append(opts, config.WithRegion("us-east-1"),
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		if cfg.DynamoEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.DynamoEndpoint)
			o.DisableValidateResponseChecksum = true // DynamoDB Local's CRC32 header does not match gzip-free bodies
		}
	})
	var keys secrets.KeyProvider
	switch {
	case cfg.KMSKeyID != "":
		keys = secrets.KMSKeys{Client: kms.NewFromConfig(awsCfg), KeyID: cfg.KMSKeyID}
	case cfg.KeyFile != "":
		if keys, err = secrets.LoadFileKeys(cfg.KeyFile); err != nil {
			return nil, err
		}
	default:
		// Functions that never seal or open anything (runtime envs, labels,
		// projects, maintenance) get no key; using one is an error.
		keys = secrets.NoKeys{}
	}
	policy := netguard.Policy{AllowLoopback: cfg.AllowLoopback}
	starter := cfg.Workflow
	if starter == nil {
		starter = workflow.SFN{Client: sfn.NewFromConfig(awsCfg), ARNs: cfg.StateMachineARNs}
	}
	signing := awsCfg.Credentials
	if cfg.Signing != nil {
		signing = cfg.Signing
	}
	lc := awslambda.NewFromConfig(awsCfg, func(o *awslambda.Options) {
		o.Credentials = signing
		if cfg.LambdaEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.LambdaEndpoint)
		}
	})
	var verifier *auth.Verifier
	if cfg.JWTIssuer != "" {
		verifier = &auth.Verifier{Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience,
			Keys: &auth.JWKS{URL: cfg.JWKSURL, Issuer: cfg.JWTIssuer, HTTP: policy.HTTPClient(10 * time.Second)}}
	}
	region := awsCfg.Region
	if region == "" {
		region = "us-east-1"
	}
	return &Deps{
		Verifier: verifier,
		Connections: &socket.Connections{Endpoint: cfg.WebSocketEndpoint, Region: region, Credentials: signing,
			HTTP: policy.HTTPClient(10 * time.Second), Signer: v4.NewSigner()},
		Invoker:  selfInvoker{lc, cfg.Self},
		Workflow: starter,
		Store:    store.New(db, cfg.Table),
		DB:       db,
		Sealer:   secrets.Sealer{Keys: keys},
		Probe:    probe.Probes{QingCloud: &qingcloud.Client{HTTP: policy.HTTPClient(15 * time.Second)}, Policy: policy},
		Policy:   policy,
	}, nil
}

// Connector connects to runtime envs, every request bounded by timeout.
func (d *Deps) Connector(timeout time.Duration) cluster.Connector {
	return cluster.Connector{Records: d.Store, Opener: d.Sealer, Policy: d.Policy, Timeout: timeout}
}

// Renderer renders environments from the store.
func (d *Deps) Renderer() plan.Renderer { return plan.Renderer{Store: d.Store, Opener: d.Sealer} }

// Actions builds one function's handlers from Deps.
type Actions func(*Deps) map[string]api.HandlerFunc

// Handler mounts one function's routes: what Lambda and the local server both serve.
func Handler(function string, d *Deps, actions Actions) (http.Handler, error) {
	return api.Mount(function, actions(d))
}

// Start runs one function under Lambda behind the HTTP API (payload 2.0).
func Start(function string, actions Actions) {
	h, err := Handler(function, mustLoad(function), actions)
	if err != nil {
		fail(function, err)
	}
	lambda.Start(httpadapter.NewV2(h).ProxyWithContext)
}

// StartTask runs a state machine task function under Lambda.
func StartTask(task func(*Deps) workflow.Task) {
	lambda.Start(task(mustLoad("task")).Lambda)
}

// StartRaw runs a function that tells its event sources apart itself.
func StartRaw(function string, build func(*Deps) (func(context.Context, json.RawMessage) (any, error), error)) {
	h, err := build(mustLoad(function))
	if err != nil {
		fail(function, err)
	}
	lambda.Start(h)
}

// StartStream runs a function behind a Function URL in RESPONSE_STREAM mode.
func StartStream(function string, build func(*Deps) (http.Handler, error)) {
	h, err := build(mustLoad(function))
	if err != nil {
		fail(function, err)
	}
	lambdaurl.Start(h)
}

func mustLoad(function string) *Deps {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	d, err := Load(context.Background(), ConfigFromEnv())
	if err != nil {
		fail(function, err)
	}
	return d
}

func fail(function string, err error) {
	slog.Error("start", "function", function, "err", err)
	os.Exit(1)
}
