// Package routes is the one route table: template.yaml's HttpApi events, the
// local server and every function's mux are checked against it.
package routes

import "strings"

// Route is one HTTP API route served by one function.
type Route struct {
	Function string // area folder under functions/
	Method   string
	Path     string // API Gateway / Go 1.22 ServeMux pattern syntax
	Action   string // spec action name; the response carries "<Action>Response"
}

// Pattern is the net/http ServeMux pattern and the API Gateway route key.
func (r Route) Pattern() string { return r.Method + " " + r.Path }

// OpenAPI tells the environment API's routes (/openapi/...), whose bodies
// follow that spec, from the runtime env API's action-style ones.
func (r Route) OpenAPI() bool { return strings.HasPrefix(r.Path, "/openapi/") }

const (
	envPath   = "/v1/runtime_envs"
	credPath  = "/v1/runtime_env_credentials"
	labelPath = "/v1/runtime_env_labels"

	projectPath  = "/openapi/projects/project"
	templatePath = "/openapi/service/template"
	envPathT     = "/openapi/environments"
	envPathP     = "/openapi/environments/production"
)

// Table lists every route of every function.
var Table = []Route{
	{"runtimeenv", "POST", envPath, "CreateRuntimeEnv"},
	{"runtimeenv", "GET", envPath, "DescribeRuntimeEnvs"},
	{"runtimeenv", "PATCH", envPath + "/{runtime_env_id}", "ModifyRuntimeEnv"},
	{"runtimeenv", "DELETE", envPath + "/{runtime_env_id}", "DeleteRuntimeEnv"},

	{"credential", "POST", credPath, "CreateRuntimeEnvCredential"},
	{"credential", "GET", credPath, "DescribeRuntimeEnvCredentials"},
	{"credential", "PATCH", credPath + "/{runtime_env_credential_id}", "ModifyRuntimeEnvCredential"},
	{"credential", "DELETE", credPath + "/{runtime_env_credential_id}", "DeleteRuntimeEnvCredential"},
	{"credential", "POST", envPath + "/{runtime_env_id}/credentials/{runtime_env_credential_id}", "AttachCredentialToRuntimeEnv"},
	{"credential", "DELETE", envPath + "/{runtime_env_id}/credentials/{runtime_env_credential_id}", "DetachCredentialFromRuntimeEnv"},

	{"label", "POST", labelPath, "CreateRuntimeEnvLabel"},
	{"label", "GET", labelPath, "DescribeRuntimeEnvLabels"},
	{"label", "PATCH", labelPath + "/{runtime_env_label_id}", "ModifyRuntimeEnvLabel"},
	{"label", "DELETE", labelPath + "/{runtime_env_label_id}", "DeleteRuntimeEnvLabel"},

	// Environment API (/openapi/...): the project named by the projectKey query parameter.
	{"service", "POST", projectPath, "CreateProject"},
	{"service", "GET", projectPath, "ListProjects"},
	{"service", "GET", projectPath + "/detail", "GetProject"},
	{"service", "PUT", projectPath, "UpdateProject"},
	{"service", "DELETE", projectPath, "DeleteProject"},
	{"service", "POST", templatePath, "CreateServiceTemplate"},
	{"service", "GET", templatePath, "ListServiceTemplates"},
	{"service", "GET", templatePath + "/{serviceName}", "GetServiceTemplate"},
	{"service", "PUT", templatePath + "/{serviceName}", "UpdateServiceTemplate"},
	{"service", "DELETE", templatePath + "/{serviceName}", "DeleteServiceTemplate"},

	{"environment", "GET", envPathT, "ListEnvironments"},
	{"environment", "POST", envPathT, "CreateEnvironment"},
	{"environment", "GET", envPathT + "/{envKey}", "GetEnvironment"},
	{"environment", "PUT", envPathT + "/{envKey}", "UpdateEnvironment"},
	{"environment", "DELETE", envPathT + "/{envKey}", "DeleteEnvironment"},
	{"environment", "GET", envPathP, "ListProductionEnvironments"},
	{"environment", "POST", envPathP, "CreateProductionEnvironment"},
	{"environment", "GET", envPathP + "/{envKey}", "GetProductionEnvironment"},
	{"environment", "PUT", envPathP + "/{envKey}", "UpdateProductionEnvironment"},
	{"environment", "DELETE", envPathP + "/{envKey}", "DeleteProductionEnvironment"},
	{"environment", "GET", envPathT + "/{envKey}/variable", "GetEnvironmentVariables"},
	{"environment", "PUT", envPathT + "/{envKey}/variable", "UpdateEnvironmentVariables"},
	{"environment", "GET", envPathP + "/{envKey}/variable", "GetProductionEnvironmentVariables"},
	{"environment", "PUT", envPathP + "/{envKey}/variable", "UpdateProductionEnvironmentVariables"},
	{"environment", "GET", "/openapi/operations/{operation_id}", "GetOperation"},
	{"environment", "GET", envPathT + "/{envKey}/revisions", "ListRevisions"},
	{"environment", "GET", envPathT + "/{envKey}/revisions/{n}", "GetRevision"},
	{"environment", "POST", envPathT + "/{envKey}/revisions/{n}/rollback", "RollbackRevision"},
	{"environment", "GET", envPathP + "/{envKey}/revisions", "ListProductionRevisions"},
	{"environment", "GET", envPathP + "/{envKey}/revisions/{n}", "GetProductionRevision"},
	{"environment", "POST", envPathP + "/{envKey}/revisions/{n}/rollback", "RollbackProductionRevision"},

	// Services of an environment (the project's templates, rendered in it).
	{"service", "GET", envPathT + "/{envKey}/services/{serviceName}", "GetEnvironmentService"},
	{"service", "GET", envPathP + "/{envKey}/services/{serviceName}", "GetProductionEnvironmentService"},
	{"service", "POST", envPathT + "/service/yaml", "AddEnvironmentServices"},
	{"service", "POST", envPathP + "/service/yaml", "AddProductionEnvironmentServices"},
	{"service", "PUT", envPathT + "/{envKey}/services", "UpdateEnvironmentServices"},
	{"service", "PUT", envPathP + "/{envKey}/services", "UpdateProductionEnvironmentServices"},
	{"service", "DELETE", envPathT + "/service/yaml", "DeleteEnvironmentServices"},
	{"service", "DELETE", envPathP + "/service/yaml", "DeleteProductionEnvironmentServices"},

	// Env configs: ConfigMap, Ingress, Secret and PVC objects of an environment.
	{"envcfg", "POST", envPathT + "/{envKey}/envcfgs", "CreateEnvConfig"},
	{"envcfg", "POST", envPathP + "/{envKey}/envcfgs", "CreateProductionEnvConfig"},
	{"envcfg", "GET", envPathT + "/{envKey}/envcfgs", "ListEnvConfigs"},
	{"envcfg", "GET", envPathP + "/{envKey}/envcfgs", "ListProductionEnvConfigs"},
	{"envcfg", "GET", envPathT + "/{envKey}/envcfg/{cfgName}", "GetEnvConfig"},
	{"envcfg", "GET", envPathP + "/{envKey}/envcfg/{cfgName}", "GetProductionEnvConfig"},
	{"envcfg", "PUT", envPathT + "/envcfgs", "UpdateEnvConfig"},
	{"envcfg", "DELETE", envPathT + "/{envKey}/envcfg/{cfgName}", "DeleteEnvConfig"},
	{"envcfg", "DELETE", envPathP + "/{envKey}/envcfg/{cfgName}", "DeleteProductionEnvConfig"},

	// Workloads of an environment: scale, restart, image, and Kubernetes events.
	{"workload", "POST", envPathT + "/scale", "ScaleWorkload"},
	{"workload", "POST", envPathT + "/{envKey}/service/{serviceName}/restart", "RestartService"},
	{"workload", "POST", envPathP + "/{envKey}/service/{serviceName}/restart", "RestartProductionService"},
	{"workload", "POST", envPathT + "/image/deployment/{envKey}", "UpdateDeploymentImage"},
	{"workload", "POST", envPathT + "/image/statefulset/{envKey}", "UpdateStatefulSetImage"},
	{"workload", "POST", envPathT + "/image/cronjob/{envKey}", "UpdateCronJobImage"},
	{"workload", "GET", envPathT + "/kube/events", "ListKubeEvents"},

	// Live logs: server-sent events of one container.
	{"logs", "GET", "/openapi/logs/sse/pods/{pod}/containers/{container}", "GetContainerLogs"},
}

// SocketRoute is one route of the WebSocket API (its route selection
// expression is $request.body.action) served by one function.
type SocketRoute struct {
	Function string
	Key      string // $connect, $disconnect, $default or an action
	TwoWay   bool   // the function's answer goes back to the client
}

// Sockets lists the WebSocket API's routes: live logs.
var Sockets = []SocketRoute{
	{"logs", "$connect", false},
	{"logs", "$disconnect", false},
	{"logs", "subscribe", true},
	{"logs", "unsubscribe", true},
	{"logs", "$default", true},
}

// SocketSelection is the WebSocket API's route selection expression.
const SocketSelection = "$request.body.action"

// For returns the routes of one function.
func For(function string) []Route {
	var out []Route
	for _, r := range Table {
		if r.Function == function {
			out = append(out, r)
		}
	}
	return out
}

// LogicalIDs names each function's resource in template.yaml, which is also
// its Makefile build target (build-<LogicalID>).
var LogicalIDs = map[string]string{
	"runtimeenv":  "RuntimeEnvFunction",
	"credential":  "CredentialFunction",
	"label":       "LabelFunction",
	"service":     "ServiceFunction",
	"environment": "EnvironmentFunction",
	"envcfg":      "EnvcfgFunction",
	"workload":    "WorkloadFunction",
	"logs":        "LogsFunction",
}

// URLFunctions are functions behind a Function URL in RESPONSE_STREAM mode
// (built from functions/<area>/url), serving their area's routes streamed.
var URLFunctions = map[string]string{"logs": "LogsStreamFunction"}

// TaskFunctions are functions without routes: state machine tasks.
var TaskFunctions = map[string]string{
	"envflow":     "EnvflowFunction",
	"maintenance": "MaintenanceFunction",
}
