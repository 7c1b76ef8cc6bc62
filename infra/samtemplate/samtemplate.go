// Package samtemplate reads template.yaml, so the local server creates the
// very table AWS gets and tests compare its routes with the route table.
package samtemplate

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.yaml.in/yaml/v3"
)

// Template is the part of template.yaml envhub reads.
type Template struct {
	Globals struct {
		Function struct {
			Environment environment `yaml:"Environment"`
		} `yaml:"Function"`
	} `yaml:"Globals"`
	Resources map[string]Resource `yaml:"Resources"`
}

type environment struct {
	Variables map[string]yaml.Node `yaml:"Variables"`
}

// Environment names the environment variables a function gets (Globals
// and its own); their values are intrinsics only AWS resolves.
func (t *Template) Environment(logicalID string) ([]string, error) {
	r, ok := t.Resources[logicalID]
	if !ok {
		return nil, fmt.Errorf("no resource %s", logicalID)
	}
	var props struct {
		Environment environment `yaml:"Environment"`
	}
	if err := r.Properties.Decode(&props); err != nil {
		return nil, fmt.Errorf("%s: %w", logicalID, err)
	}
	var out []string
	for _, vars := range []map[string]yaml.Node{t.Globals.Function.Environment.Variables, props.Environment.Variables} {
		for k := range vars {
			out = append(out, k)
		}
	}
	return out, nil
}

// Resource is one CloudFormation resource; Properties are kept raw because
// they hold intrinsic functions (!Ref, !GetAtt) only AWS resolves.
type Resource struct {
	Type       string    `yaml:"Type"`
	Properties yaml.Node `yaml:"Properties"`
}

// Route is one HttpApi event of a function.
type Route struct {
	Function string // logical id
	Event    string // event name (the action)
	Method   string
	Path     string
}

// Path returns template.yaml at the repository root, found from this file.
func Path() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "template.yaml")
}

// Load parses a template file.
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var t Template
	if err := yaml.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &t, nil
}

// Routes lists every HttpApi event of every serverless function.
func (t *Template) Routes() ([]Route, error) {
	var out []Route
	for id, r := range t.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		var props struct {
			Events map[string]struct {
				Type       string `yaml:"Type"`
				Properties struct {
					Method string `yaml:"Method"`
					Path   string `yaml:"Path"`
				} `yaml:"Properties"`
			} `yaml:"Events"`
		}
		if err := r.Properties.Decode(&props); err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		for name, ev := range props.Events {
			if ev.Type == "HttpApi" {
				out = append(out, Route{id, name, ev.Properties.Method, ev.Properties.Path})
			}
		}
	}
	return out, nil
}

// SocketRoute is one route of a WebSocket API (AWS::ApiGatewayV2::Route).
type SocketRoute struct {
	LogicalID string
	Key       string // RouteKey
	TwoWay    bool   // it has a RouteResponse: the integration's answer goes to the client
	Target    string // the integration, as written (!Sub "integrations/${...}")
}

// SocketRoutes lists the WebSocket routes of the template.
func (t *Template) SocketRoutes() ([]SocketRoute, error) {
	answered := map[string]bool{}
	for id, r := range t.Resources {
		if r.Type != "AWS::ApiGatewayV2::RouteResponse" {
			continue
		}
		var p struct {
			RouteID yaml.Node `yaml:"RouteId"`
		}
		if err := r.Properties.Decode(&p); err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		answered[p.RouteID.Value] = true // !Ref <route>
	}
	var out []SocketRoute
	for id, r := range t.Resources {
		if r.Type != "AWS::ApiGatewayV2::Route" {
			continue
		}
		var p struct {
			RouteKey string    `yaml:"RouteKey"`
			Target   yaml.Node `yaml:"Target"`
			Select   string    `yaml:"RouteResponseSelectionExpression"`
		}
		if err := r.Properties.Decode(&p); err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		out = append(out, SocketRoute{id, p.RouteKey, answered[id] && p.Select != "", p.Target.Value})
	}
	return out, nil
}

// Table returns the CreateTableInput of the template's one DynamoDB table, named name.
func (t *Template) Table(name string) (*dynamodb.CreateTableInput, error) {
	for id, r := range t.Resources {
		if r.Type != "AWS::DynamoDB::Table" {
			continue
		}
		var p struct {
			BillingMode          string `yaml:"BillingMode"`
			AttributeDefinitions []struct {
				AttributeName string `yaml:"AttributeName"`
				AttributeType string `yaml:"AttributeType"`
			} `yaml:"AttributeDefinitions"`
			KeySchema              []keyElement `yaml:"KeySchema"`
			GlobalSecondaryIndexes []struct {
				IndexName  string       `yaml:"IndexName"`
				KeySchema  []keyElement `yaml:"KeySchema"`
				Projection struct {
					ProjectionType string `yaml:"ProjectionType"`
				} `yaml:"Projection"`
			} `yaml:"GlobalSecondaryIndexes"`
		}
		if err := r.Properties.Decode(&p); err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		in := &dynamodb.CreateTableInput{TableName: &name, BillingMode: types.BillingMode(p.BillingMode), KeySchema: keys(p.KeySchema)}
		for _, a := range p.AttributeDefinitions {
			in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
				AttributeName: &a.AttributeName, AttributeType: types.ScalarAttributeType(a.AttributeType),
			})
		}
		for _, g := range p.GlobalSecondaryIndexes {
			in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
				IndexName: &g.IndexName, KeySchema: keys(g.KeySchema),
				Projection: &types.Projection{ProjectionType: types.ProjectionType(g.Projection.ProjectionType)},
			})
		}
		return in, nil
	}
	return nil, fmt.Errorf("template has no AWS::DynamoDB::Table")
}

type keyElement struct {
	AttributeName string `yaml:"AttributeName"`
	KeyType       string `yaml:"KeyType"`
}

func keys(in []keyElement) []types.KeySchemaElement {
	out := make([]types.KeySchemaElement, len(in))
	for i, k := range in {
		out[i] = types.KeySchemaElement{AttributeName: &k.AttributeName, KeyType: types.KeyType(k.KeyType)}
	}
	return out
}
