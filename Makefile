# envhub: `make run` serves the whole API locally; `make test` installs what
# it needs and runs every test. SAM builds each function with build-<LogicalId>.
SHELL := /bin/bash
GO ?= go
GOARCH_LAMBDA ?= arm64
LAMBDA_BUILD = CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH_LAMBDA) $(GO) build -trimpath -tags lambda.norpc -ldflags='-s -w'

.PHONY: run test bench token maintain build cluster cluster-down clean

run: ## start DynamoDB Local and the local API; prints the URL and a token
	@scripts/run.sh

test: ## install DynamoDB Local and Go modules, then vet, test and fuzz briefly
	@scripts/test.sh

bench: ## benchmarks on DynamoDB Local and the local cluster (ratios vs direct SDK and client-go calls in the same run)
	@scripts/bench.sh

cluster: ## only the local Kubernetes control plane, in the background
	@scripts/cluster.sh up

cluster-down: ## stop what make cluster started
	@scripts/cluster.sh down

token: ## make token SUB=alice [ROLE=admin]: a JWT for the local server
	@$(GO) run ./infra/local/cmd/envhub-local token -state "$${ENVHUB_HOME:-$${XDG_CACHE_HOME:-$$HOME/.cache}/envhub}/state" -sub "$(or $(SUB),dev)" -role "$(ROLE)"

maintain: ## run the scheduled maintenance now against make run's server (ends stuck operations)
	@$(GO) run ./infra/local/cmd/envhub-local maintain -addr "127.0.0.1:$${PORT:-8080}" -state "$${ENVHUB_HOME:-$${XDG_CACHE_HOME:-$$HOME/.cache}/envhub}/state"

build: build-RuntimeEnvFunction build-CredentialFunction build-LabelFunction build-ServiceFunction build-EnvironmentFunction build-EnvcfgFunction build-WorkloadFunction build-LogsFunction build-LogsStreamFunction build-EnvflowFunction build-MaintenanceFunction ## every Lambda, into .aws-sam-like dirs

# SAM (BuildMethod: makefile) calls these with ARTIFACTS_DIR set.
ARTIFACTS_DIR ?= $(CURDIR)/.build/$@
build-RuntimeEnvFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/runtimeenv/lambda
build-CredentialFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/credential/lambda
build-LabelFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/label/lambda
build-ServiceFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/service/lambda
build-EnvironmentFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/environment/lambda
build-EnvcfgFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/envcfg/lambda

build-WorkloadFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/workload/lambda

build-LogsFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/logs/lambda

build-LogsStreamFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/logs/url
build-EnvflowFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/envflow/lambda
build-MaintenanceFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/maintenance/lambda

clean:
	rm -rf .build .aws-sam
