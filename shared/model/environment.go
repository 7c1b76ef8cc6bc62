package model

import (
	"strings"
	"time"
)

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
// namespace on a kubernetes runtime env holding the project's services. Its
// fields are the desired state; what is applied lives in items of its own
// (store: the applied set), and changes run as operations.
type Environment struct {
	Record
	ProjectID  string `dynamodbav:"project_id"`
	ProjectKey string `dynamodbav:"project_key"`
	Key        string `dynamodbav:"env_key"`
	Name       string `dynamodbav:"env_name"`
	Type       string `dynamodbav:"env_type"` // EnvTest or EnvProduction
	ClusterID  string `dynamodbav:"cluster_id"`
	// ClusterUID is the cluster's identity (its kube-system namespace UID):
	// namespaces are reserved per cluster, however often it is registered.
	ClusterUID string `dynamodbav:"cluster_uid"`
	Namespace  string `dynamodbav:"namespace"`
	// AdoptNamespace: an admin asked to take over an existing namespace
	// (its create may; later changes may not).
	AdoptNamespace bool         `dynamodbav:"adopt_namespace,omitempty"`
	RegistryID     string       `dynamodbav:"registry_id"`
	Globals        []KV         `dynamodbav:"global_variables"`
	Services       []EnvService `dynamodbav:"services"`
	Configs        []EnvConfig  `dynamodbav:"env_configs"`
	State          string       `dynamodbav:"state"`
	Reason         string       `dynamodbav:"reason"`
	OperationID    string       `dynamodbav:"operation_id,omitempty"`      // the running operation, if any
	LastOperation  string       `dynamodbav:"last_operation_id,omitempty"` // the last one that ended
	UpdateBy       string       `dynamodbav:"update_by"`
	// Revisions counts the revisions recorded: the last one's number.
	Revisions int `dynamodbav:"revisions"`
	// Hosts are the Ingress hosts the environment claims on its cluster.
	Hosts []string `dynamodbav:"hosts"`
	// Counted are the templates and credentials counted as used by the
	// environment (store: they cannot go while it uses them).
	Counted []string `dynamodbav:"counted"`
}

// Revision is one recorded change of an environment's services, variables
// or configs: who made it, when, by which operation, the desired state it
// made and (sealed, in chunks of its own) every object rendered then.
type Revision struct {
	EnvironmentID string    `dynamodbav:"environment_id"`
	N             int       `dynamodbav:"n"`
	OperationID   string    `dynamodbav:"operation_id"`
	Kind          string    `dynamodbav:"kind"`   // the operation's kind
	Change        string    `dynamodbav:"change"` // what was asked
	By            string    `dynamodbav:"by"`
	Time          time.Time `dynamodbav:"time"`
	Chunks        int       `dynamodbav:"chunks"`
	// The desired state it made (Secret configs sealed, as the environment keeps them).
	RegistryID string       `dynamodbav:"registry_id"`
	Globals    []KV         `dynamodbav:"global_variables"`
	Services   []EnvService `dynamodbav:"services"`
	Configs    []EnvConfig  `dynamodbav:"env_configs"`
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
	// Replicas are the replica counts set by the scale route: they win over
	// what the templates render, through every later change.
	Replicas []Replicas `json:"-" dynamodbav:"replicas,omitempty"`
	// RestartedAt is when the service was last restarted: its workloads'
	// pod templates carry it (as kubectl rollout restart stamps them), so a
	// later apply keeps it instead of rolling them again.
	RestartedAt string `json:"-" dynamodbav:"restarted_at,omitempty"`
}

// Container is a service component and its image. One set by the image
// route names its workload and the image the templates rendered then
// (Base): a later change whose templates render another image there names
// a new image, which wins.
type Container struct {
	Name      string `json:"name" dynamodbav:"name"`
	Image     string `json:"image" dynamodbav:"image"`
	ImageName string `json:"image_name" dynamodbav:"image_name"`
	Workload  string `json:"-" dynamodbav:"workload,omitempty"` // "Kind/name"; empty: every container of that name
	Base      string `json:"-" dynamodbav:"base,omitempty"`
}

// Replicas is a workload's replica count set by the scale route, and the
// last count above zero (what a workload scaled to 0 wakes up with).
type Replicas struct {
	Workload string `dynamodbav:"workload"` // "Kind/name"
	Replicas int32  `dynamodbav:"replicas"`
	Last     int32  `dynamodbav:"last"`
}

// WorkloadRef names a workload as Replicas and Container do: "Kind/name".
func WorkloadRef(kind, name string) string { return kind + "/" + name }

// Setting is an env service's value for a template variable.
type Setting struct {
	Key       string `json:"key" dynamodbav:"key"`
	Value     string `json:"value" dynamodbav:"value"`
	UseGlobal bool   `json:"use_global_variable" dynamodbav:"use_global"`
}

// EnvConfig is a ConfigMap, Ingress, Secret or PVC of an environment. A
// Secret's YAML is kept only sealed (Sealed), as credentials are.
type EnvConfig struct {
	YAML   string `json:"yaml_data" dynamodbav:"yaml"`
	Type   string `json:"common_env_cfg_type" dynamodbav:"type"`
	Sealed []byte `json:"-" dynamodbav:"sealed,omitempty"`
}

// ConfigSecret is the env config type whose YAML is sealed at rest.
const ConfigSecret = "Secret"

// SealID binds an environment's sealed configs to it.
func (e *Environment) SealID() string { return e.ID + "/configs" }

// Parts of an environment: what each applied object belongs to.
const (
	PartRegistry = "registry"
	PartConfig   = "config"
	partService  = "service/"
)

// ServicePart is the part of one service's objects.
func ServicePart(name string) string { return partService + name }

// PartService tells the service a part belongs to, if it is a service's.
func PartService(part string) (string, bool) { return strings.CutPrefix(part, partService) }

// Applied is one object an environment may have in its cluster. It is
// recorded before it is applied (write-ahead), so delete and prune find
// everything an operation touched, even one that failed half way.
type Applied struct {
	APIVersion string `json:"apiVersion" dynamodbav:"v"`
	Kind       string `json:"kind" dynamodbav:"k"`
	Name       string `json:"name" dynamodbav:"n"`
	Part       string `json:"part" dynamodbav:"p"`
}

// Key identifies the object whatever version it was applied at.
func (a Applied) Key() string {
	group, _, _ := strings.Cut(a.APIVersion, "/")
	if !strings.Contains(a.APIVersion, "/") {
		group = ""
	}
	return group + "|" + a.Kind + "|" + a.Name
}

// Operation is one run of a state machine on an environment.
type Operation struct {
	Record
	Kind          string    `dynamodbav:"kind"` // OpCreate, OpUpdate, OpDelete
	EnvironmentID string    `dynamodbav:"environment_id"`
	State         string    `dynamodbav:"state"` // running, succeeded, failed
	Steps         []string  `dynamodbav:"steps"`
	Error         string    `dynamodbav:"error"`
	Ended         time.Time `dynamodbav:"ended,omitempty"`
	Deadline      time.Time `dynamodbav:"deadline"`
	Machine       string    `dynamodbav:"machine"` // the state machine; the execution is named after the operation
	Input         string    `dynamodbav:"input"`   // what was asked, e.g. isDelete for a delete
	IsDelete      bool      `dynamodbav:"is_delete,omitempty"`
	Plan          PlanStats `dynamodbav:"plan"`
	// Stopping is when maintenance decided to end the operation (its reason
	// in Error): its tasks stop at once, and it ends once any task still in
	// flight has surely finished.
	Stopping time.Time `dynamodbav:"stopping,omitempty"`
	// The Idempotency-Key of the request that started it (scoped to its
	// caller), so that ending it unstarted can free the key.
	IdemCaller string `dynamodbav:"idem_caller,omitempty"`
	IdemKey    string `dynamodbav:"idem_key,omitempty"`
}

// PlanStats sizes an operation's recorded plan and its progress.
type PlanStats struct {
	Chunks  int `dynamodbav:"chunks" json:"chunks"`
	Apply   int `dynamodbav:"apply" json:"apply"`
	Prune   int `dynamodbav:"prune" json:"prune"`
	Applied int `dynamodbav:"applied" json:"applied"` // objects applied or pruned so far
}

// Halted tells whether an operation's tasks must stop: it ended, or is ending.
func (op *Operation) Halted() bool { return op.State != OpRunning || !op.Stopping.IsZero() }

// Operation kinds and states.
const (
	OpCreate = "create"
	OpUpdate = "update"
	OpDelete = "delete"

	OpRunning   = "running"
	OpSucceeded = "succeeded"
	OpFailed    = "failed"
)
