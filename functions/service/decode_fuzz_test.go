package service_test

import (
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

// Every request decoder of the area, fed arbitrary input through the Lambda
// adapter against DynamoDB Local: no input may produce a 5xx.

func seeded(f *testing.F) *lt.Env {
	e := lt.New(f)
	newProject(f, e, lt.Alice, "shop", "public")
	newTemplate(f, e, lt.Alice, "shop", "web")
	return e
}

// fuzzBody fuzzes a route taking projectKey, an optional service name and a body.
func fuzzBody(f *testing.F, action string, withName bool, bodies ...string) {
	e := seeded(f)
	for _, b := range bodies {
		f.Add(uint8(0), "projectKey=shop", "web", b)
		f.Add(uint8(1), "projectKey=Shop&x=1", "web/../x", b)
	}
	f.Fuzz(func(t *testing.T, who uint8, query, name, body string) {
		var path map[string]string
		if withName {
			path = map[string]string{"serviceName": name}
		}
		e.FuzzCall(t, who, action, path, query, body)
	})
}

func FuzzCreateProject(f *testing.F) {
	fuzzBody(f, "CreateProject", false, `{"project_key":"p1","global_variables":[{"key":"a","value":"x","type":"yaml"}]}`, `{"project_key":"shop"}`, `{"project_key":1}`)
}
func FuzzListProjects(f *testing.F) { fuzzBody(f, "ListProjects", false, "") }
func FuzzGetProject(f *testing.F)   { fuzzBody(f, "GetProject", false, "") }
func FuzzUpdateProject(f *testing.F) {
	fuzzBody(f, "UpdateProject", false, `{"project_name":"n","global_variables":[{"key":"b","type":"enum","options":["1"],"value":"1"}]}`, `{"version":1}`)
}
func FuzzDeleteProject(f *testing.F) { fuzzBody(f, "DeleteProject", false, "") }
func FuzzCreateServiceTemplate(f *testing.F) {
	fuzzBody(f, "CreateServiceTemplate", false, `{"service_name":"api","yaml":"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .n }}}","variables":[{"key":"n","value":"x","type":"string"}]}`, `{"service_name":"web","yaml":"{{"}`)
}
func FuzzListServiceTemplates(f *testing.F) { fuzzBody(f, "ListServiceTemplates", false, "") }
func FuzzGetServiceTemplate(f *testing.F)   { fuzzBody(f, "GetServiceTemplate", true, "") }
func FuzzUpdateServiceTemplate(f *testing.F) {
	fuzzBody(f, "UpdateServiceTemplate", true, `{"yaml":"{{ template \"x\" }}"}`, `{"variables":[]}`)
}
func FuzzDeleteServiceTemplate(f *testing.F) { fuzzBody(f, "DeleteServiceTemplate", true, "") }
