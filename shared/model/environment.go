package model

import "time"

// Kinds of environment records.
const (
	KindEnvironment = "env"
	KindOperation   = "op"
)

// Environment types.
const (
	EnvTest       = "test"
	EnvProduction = "production"
)

// Environment states as stored; detail adds the live one (unstable).
const (
	EnvCreating = "creating"
	EnvUpdating = "updating"
	EnvDeleting = "deleting"
	EnvSuccess  = "success"
	EnvFailed   = "failed"
	EnvUnknown  = "unknown"
)

// Environment is a test or production environment of a project: a
// namespace on a kubernetes runtime env holding the project's services.
type Environment struct {
	Record
	ProjectID   string       `dynamodbav:"project_id"`
	ProjectKey  string       `dynamodbav:"project_key"`
	Key         string       `dynamodbav:"env_key"`
	Name        string       `dynamodbav:"env_name"`
	Type        string       `dynamodbav:"env_type"` // EnvTest or EnvProduction
	ClusterID   string       `dynamodbav:"cluster_id"`
	Namespace   string       `dynamodbav:"namespace"`
	RegistryID  string       `dynamodbav:"registry_id"`
	Globals     []KV         `dynamodbav:"global_variables"`
	Services    []EnvService `dynamodbav:"services"`
	Configs     []EnvConfig  `dynamodbav:"env_configs"`
	State       string       `dynamodbav:"state"`
	Reason      string       `dynamodbav:"reason"`
	OperationID string       `dynamodbav:"operation_id,omitempty"` // the running operation, if any
	UpdateBy    string       `dynamodbav:"update_by"`
	Applied     []AppliedRef `dynamodbav:"applied"` // what the last create applied, for delete
}

// KV is a key and value.
type KV struct {
	Key   string `json:"key" dynamodbav:"key"`
	Value string `json:"value" dynamodbav:"value"`
}

// EnvService is one service of an environment.
type EnvService struct {
	Name       string      `json:"service_name" dynamodbav:"name"`
	Containers []Container `json:"containers" dynamodbav:"containers"`
	Variables  []Setting   `json:"variable_kvs" dynamodbav:"variables"`
}

// Container is a service component and its image.
type Container struct {
	Name      string `json:"name" dynamodbav:"name"`
	Image     string `json:"image" dynamodbav:"image"`
	ImageName string `json:"image_name" dynamodbav:"image_name"`
}

// Setting is an env service's value for a template variable.
type Setting struct {
	Key       string `json:"key" dynamodbav:"key"`
	Value     string `json:"value" dynamodbav:"value"`
	UseGlobal bool   `json:"use_global_variable" dynamodbav:"use_global"`
}

// EnvConfig is a ConfigMap, Ingress, Secret or PVC of an environment.
type EnvConfig struct {
	YAML string `json:"yaml_data" dynamodbav:"yaml"`
	Type string `json:"common_env_cfg_type" dynamodbav:"type"`
}

// AppliedRef names an object an environment applied.
type AppliedRef struct {
	APIVersion string `dynamodbav:"v"`
	Kind       string `dynamodbav:"k"`
	Namespace  string `dynamodbav:"ns"`
	Name       string `dynamodbav:"n"`
}

// Operation is one run of a long operation (create, delete) on an environment.
type Operation struct {
	Record
	Kind          string    `dynamodbav:"kind"` // create or delete
	EnvironmentID string    `dynamodbav:"environment_id"`
	State         string    `dynamodbav:"state"` // running, succeeded, failed
	Steps         []string  `dynamodbav:"steps"`
	Error         string    `dynamodbav:"error"`
	Ended         time.Time `dynamodbav:"ended,omitempty"`
	Execution     string    `dynamodbav:"execution"`
	Input         string    `dynamodbav:"input"` // e.g. isDelete for a delete
}

// Operation states.
const (
	OpRunning   = "running"
	OpSucceeded = "succeeded"
	OpFailed    = "failed"
)
