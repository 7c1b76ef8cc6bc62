// Package view shapes records into the spec's response items, so every
// function shows a record the same way and secrets never leave masked.
package view

import (
	"sort"
	"time"

	"github.com/envhub/envhub/shared/model"
)

// Label is a runtime_env_labels item.
type Label struct {
	ID    string `json:"runtime_env_label_id"`
	Key   string `json:"label_key"`
	Value string `json:"label_value"`
}

// RuntimeEnv is a runtime_env_set item.
type RuntimeEnv struct {
	ID            string    `json:"runtime_env_id"`
	Runtime       string    `json:"runtime"`
	Name          string    `json:"name"`
	Description   string    `json:"description"`
	Endpoint      string    `json:"endpoint"`
	Zone          string    `json:"zone"`
	PodSecurity   string    `json:"pod_security,omitempty"`
	Visibility    string    `json:"visibility"`
	Owner         string    `json:"owner"`
	Status        string    `json:"status"`
	CreateTime    time.Time `json:"create_time"`
	StatusTime    time.Time `json:"status_time"`
	Version       int64     `json:"version"`
	CredentialIDs *[]string `json:"runtime_env_credential_ids,omitempty"`
	Labels        []Label   `json:"runtime_env_labels"`
}

// OfRuntimeEnv shows a runtime env; verbose adds the attached credential ids.
func OfRuntimeEnv(e *model.RuntimeEnv, verbose bool) RuntimeEnv {
	v := RuntimeEnv{
		ID: e.ID, Runtime: e.Runtime, Name: e.Name, Description: e.Description, Endpoint: e.Endpoint,
		Zone: e.Zone, Visibility: e.Visibility, Owner: e.Owner, Status: e.Status,
		CreateTime: e.CreateTime, StatusTime: e.StatusTime, Version: e.Version,
		Labels: make([]Label, 0, len(e.Labels)),
	}
	if e.Runtime == model.Kubernetes {
		v.PodSecurity = e.PodSecurityLevel()
	}
	for id, kv := range e.Labels {
		v.Labels = append(v.Labels, Label{ID: id, Key: kv.Key, Value: kv.Value})
	}
	sort.Slice(v.Labels, func(i, j int) bool { return v.Labels[i].Key < v.Labels[j].Key })
	if verbose {
		ids := []string{}
		if e.CredentialID != "" {
			ids = append(ids, e.CredentialID)
		}
		v.CredentialIDs = &ids
	}
	return v
}

// Credential is a runtime_env_credential_set item; secret fields read "******".
type Credential struct {
	ID            string            `json:"runtime_env_credential_id"`
	Name          string            `json:"name"`
	Description   string            `json:"description"`
	Runtime       string            `json:"runtime"`
	Content       map[string]string `json:"content"`
	Owner         string            `json:"owner"`
	Status        string            `json:"status"`
	CreateTime    time.Time         `json:"create_time"`
	StatusTime    time.Time         `json:"status_time"`
	Version       int64             `json:"version"`
	RuntimeEnvIDs []string          `json:"runtime_env_ids"`
	RuntimeEnv    *RuntimeEnv       `json:"runtime_env,omitempty"`
	RuntimeEnvs   []RuntimeEnv      `json:"runtime_envs,omitempty"`
}

// OfCredential shows a credential with its secrets masked.
func OfCredential(c *model.Credential) Credential {
	content := make(map[string]string, len(c.Public)+len(c.SecretKeys))
	for k, v := range c.Public {
		content[k] = v
	}
	for _, k := range c.SecretKeys {
		content[k] = model.Mask
	}
	ids := c.RuntimeEnvIDs
	if ids == nil {
		ids = []string{}
	}
	return Credential{
		ID: c.ID, Name: c.Name, Description: c.Description, Runtime: c.Runtime, Content: content,
		Owner: c.Owner, Status: c.Status, CreateTime: c.CreateTime, StatusTime: c.StatusTime,
		Version: c.Version, RuntimeEnvIDs: ids,
	}
}

// LabelItem is a runtime_env_label_set item.
type LabelItem struct {
	ID           string      `json:"runtime_env_label_id"`
	RuntimeEnvID string      `json:"runtime_env_id"`
	Key          string      `json:"label_key"`
	Value        string      `json:"label_value"`
	Status       string      `json:"status"`
	CreateTime   time.Time   `json:"create_time"`
	StatusTime   time.Time   `json:"status_time"`
	Version      int64       `json:"version"`
	RuntimeEnv   *RuntimeEnv `json:"runtime_env,omitempty"`
}

// OfLabel shows a label.
func OfLabel(l *model.Label) LabelItem {
	return LabelItem{
		ID: l.ID, RuntimeEnvID: l.RuntimeEnvID, Key: l.Key, Value: l.Value, Status: l.Status,
		CreateTime: l.CreateTime, StatusTime: l.StatusTime, Version: l.Version,
	}
}
