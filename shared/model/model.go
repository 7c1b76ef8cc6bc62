// Package model holds envhub's records and the rules their fields follow.
package model

import (
	"crypto/rand"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/envhub/envhub/shared/errs"
)

// Runtimes and statuses.
const (
	Kubernetes = "kubernetes"
	QingCloud  = "qingcloud"
	Registry   = "registry" // a credential's kind only: docker registries are not runtime envs

	StatusActive  = "active"
	StatusDeleted = "deleted"

	Private = "private"
	Public  = "public"
)

// Kinds are the id prefixes (and store partitions) of each record type.
const (
	KindRuntimeEnv = "re"
	KindCredential = "rec"
	KindLabel      = "rel"
)

// Record holds what every record has: identity, ownership, status and version.
type Record struct {
	ID         string    `dynamodbav:"id"`
	Owner      string    `dynamodbav:"owner"`
	Visibility string    `dynamodbav:"visibility"`
	Status     string    `dynamodbav:"status"`
	CreateTime time.Time `dynamodbav:"create_time"`
	StatusTime time.Time `dynamodbav:"status_time"`
	UpdateTime time.Time `dynamodbav:"update_time,omitempty"` // any change, status included
	Version    int64     `dynamodbav:"version"`
}

// Updated is when the record last changed (records from before
// update_time was kept fall back to their status time).
func (r Record) Updated() time.Time {
	if r.UpdateTime.IsZero() {
		return r.StatusTime
	}
	return r.UpdateTime
}

// RuntimeEnv is a registered cluster or cloud zone.
type RuntimeEnv struct {
	Record
	Runtime      string             `dynamodbav:"runtime"`
	Name         string             `dynamodbav:"name"`
	Description  string             `dynamodbav:"description"`
	Endpoint     string             `dynamodbav:"endpoint"`
	Zone         string             `dynamodbav:"zone"`
	CredentialID string             `dynamodbav:"credential_id,omitempty"`
	PodSecurity  string             `dynamodbav:"pod_security,omitempty"` // Pod Security Admission level of its environments' namespaces
	Labels       map[string]LabelKV `dynamodbav:"labels,omitempty"`       // label id -> key/value, kept with the env so a page of envs is one read
}

// Pod Security Admission levels a runtime env enforces on the namespaces of
// its environments; baseline unless an operator chose otherwise.
const (
	PodSecurityBaseline   = "baseline"
	PodSecurityRestricted = "restricted"
	PodSecurityPrivileged = "privileged" // only an admin may choose it
)

// PodSecurityLevel is the level the env enforces.
func (e *RuntimeEnv) PodSecurityLevel() string {
	if e.PodSecurity == "" {
		return PodSecurityBaseline
	}
	return e.PodSecurity
}

// CheckPodSecurity: a Pod Security Admission level (empty: baseline).
func CheckPodSecurity(level string) error {
	switch level {
	case "", PodSecurityBaseline, PodSecurityRestricted, PodSecurityPrivileged:
		return nil
	}
	return errs.Invalid("pod_security", "must be %q, %q or %q", PodSecurityBaseline, PodSecurityRestricted, PodSecurityPrivileged)
}

// LabelKV is a label as embedded in its runtime env.
type LabelKV struct {
	Key   string `dynamodbav:"k"`
	Value string `dynamodbav:"v"`
}

// Credential is what a user attaches to runtime envs to reach them.
type Credential struct {
	Record
	Name          string            `dynamodbav:"name"`
	Description   string            `dynamodbav:"description"`
	Runtime       string            `dynamodbav:"runtime"`                         // which runtime the content is for
	Public        map[string]string `dynamodbav:"public"`                          // non-secret content fields, shown as is
	SecretKeys    []string          `dynamodbav:"secret_keys,stringset,omitempty"` // secret field names, shown masked
	Sealed        []byte            `dynamodbav:"sealed"`                          // all content, encrypted
	RuntimeEnvIDs []string          `dynamodbav:"runtime_env_ids,stringset,omitempty"`
}

// Label is a key/value tag on one runtime env. It carries its env's owner and
// visibility so label lists can be scoped like env lists.
type Label struct {
	Record
	RuntimeEnvID string `dynamodbav:"runtime_env_id"`
	Key          string `dynamodbav:"label_key"`
	Value        string `dynamodbav:"label_value"`
}

// Var defines one template variable and its default value (rules: render.CheckVars).
type Var struct {
	Key     string   `json:"key" dynamodbav:"key"`
	Value   string   `json:"value" dynamodbav:"value"`
	Type    string   `json:"type" dynamodbav:"type"`
	Options []string `json:"options,omitempty" dynamodbav:"options,omitempty"`
	Desc    string   `json:"desc,omitempty" dynamodbav:"desc,omitempty"`
}

// Project groups service templates and the environments made from them.
type Project struct {
	Record
	Key             string `dynamodbav:"project_key"`
	Name            string `dynamodbav:"name"`
	Description     string `dynamodbav:"description"`
	GlobalVariables []Var  `dynamodbav:"global_variables"`
	Services        int    `dynamodbav:"services"`     // active service templates; a project holding any cannot be deleted
	Environments    int    `dynamodbav:"environments"` // environments not yet deleted; likewise
}

// ServiceTemplate is one service of a project: YAML written as a Go text/template.
type ServiceTemplate struct {
	Record
	ProjectID string `dynamodbav:"project_id"`
	Name      string `dynamodbav:"name"`
	YAML      string `dynamodbav:"yaml"`
	Variables []Var  `dynamodbav:"variables"`
}

// Kinds of the environment half.
const (
	KindProject  = "prj"
	KindTemplate = "svct"
)

// MaxLabelsPerRuntimeEnv keeps an env and all its labels within one DynamoDB transaction.
const MaxLabelsPerRuntimeEnv = 30

// NewID returns prefix-<16 random base36 chars>.
func NewID(kind string) string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return kind + "-" + string(b)
}

// IDPrefix is the prefix ids of a kind start with.
func IDPrefix(kind string) string { return kind + "-" }

// CheckName: required, 1-255 characters, no control characters.
func CheckName(field, s string, required bool) error {
	if s == "" {
		if required {
			return errs.Invalid(field, "is required")
		}
		return nil
	}
	if strings.TrimSpace(s) != s {
		return errs.Invalid(field, "must not start or end with spaces")
	}
	return checkText(field, s, 255)
}

// CheckDescription: at most 1024 characters, no control characters but newlines.
func CheckDescription(s string) error { return checkText("description", s, 1024) }

func checkText(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return errs.Invalid(field, "must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return errs.Invalid(field, "must be at most %d characters", max)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return errs.Invalid(field, "must not contain control characters")
		}
	}
	return nil
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// CheckZone: a DNS label (RFC 1123), as a Kubernetes namespace must be.
func CheckZone(s string) error {
	if s == "" {
		return errs.Invalid("zone", "is required")
	}
	if len(s) > 63 || !dnsLabel.MatchString(s) {
		return errs.Invalid("zone", "must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters")
	}
	return nil
}

// CheckRuntime: kubernetes or qingcloud.
func CheckRuntime(s string) error {
	if s != Kubernetes && s != QingCloud {
		return errs.Invalid("runtime", "must be %q or %q", Kubernetes, QingCloud)
	}
	return nil
}

// CheckVisibility: private or public (empty when optional).
func CheckVisibility(s string) error {
	if s != Private && s != Public {
		return errs.Invalid("visibility", "must be %q or %q", Private, Public)
	}
	return nil
}

// CheckOwner: a JWT subject, 1-255 characters without spaces or control characters.
func CheckOwner(field, s string) error {
	if s == "" || len(s) > 255 || !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return errs.Invalid(field, "must be a user id of 1-255 characters without spaces")
	}
	return nil
}

var labelKey = regexp.MustCompile(`^[a-zA-Z]([-_a-zA-Z0-9]*[a-zA-Z0-9])?$`)

// CheckLabel: key as the spec's pattern up to 50 characters; value 1-255 characters.
func CheckLabel(key, value string) error {
	if key == "" {
		return errs.Invalid("label_key", "is required")
	}
	if len(key) > 50 || !labelKey.MatchString(key) {
		return errs.Invalid("label_key", "must match ^[a-zA-Z]([-_a-zA-Z0-9]*[a-zA-Z0-9])?$ and be at most 50 characters")
	}
	if value == "" {
		return errs.Invalid("label_value", "is required")
	}
	return checkText("label_value", value, 255)
}

// CheckSearch: a search word is text of at most 255 characters.
func CheckSearch(s string) error { return checkText("search_word", s, 255) }

// CheckOwners: owner filters, at most 20 (each is one index query).
func CheckOwners(field string, owners []string) error {
	if len(owners) > 20 {
		return errs.Invalid(field, "must name at most 20 owners")
	}
	for _, o := range owners {
		if err := CheckOwner(field, o); err != nil {
			return err
		}
	}
	return nil
}

// CheckKey: a DNS label of at most max characters (project and env keys end
// up in namespace names).
func CheckKey(field, s string, max int) error {
	if s == "" {
		return errs.Invalid(field, "is required")
	}
	if len(s) > max || !dnsLabel.MatchString(s) {
		return errs.Invalid(field, "must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most %d characters", max)
	}
	return nil
}
