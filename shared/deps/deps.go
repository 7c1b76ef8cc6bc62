// Package deps builds, from the process environment, what every function's
// handlers depend on, and starts a function under Lambda. Mains stay tiny.
package deps

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/netguard"
	"github.com/envhub/envhub/shared/plan"
	"github.com/envhub/envhub/shared/probe"
	"github.com/envhub/envhub/shared/qingcloud"
	"github.com/envhub/envhub/shared/secrets"
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
	}
}

// Deps are the dependencies handlers are built from.
type Deps struct {
	Store    *store.Store
	DB       *dynamodb.Client
	Sealer   secrets.Sealer
	Probe    probe.Probes
	Policy   netguard.Policy
	Workflow workflow.Runner
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
	return &Deps{
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
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	ctx := context.Background()
	d, err := Load(ctx, ConfigFromEnv())
	if err != nil {
		slog.Error("start", "function", function, "err", err)
		os.Exit(1)
	}
	h, err := Handler(function, d, actions)
	if err != nil {
		slog.Error("start", "function", function, "err", err)
		os.Exit(1)
	}
	lambda.Start(httpadapter.NewV2(h).ProxyWithContext)
}

// StartTask runs a state machine task function under Lambda.
func StartTask(task func(*Deps) workflow.Task) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	d, err := Load(context.Background(), ConfigFromEnv())
	if err != nil {
		slog.Error("start", "err", err)
		os.Exit(1)
	}
	lambda.Start(task(d).Lambda)
}
