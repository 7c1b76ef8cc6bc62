package model

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"sort"
	"strings"

	"github.com/envhub/envhub/shared/errs"
	"k8s.io/client-go/tools/clientcmd"
)

// Content is a credential's content split into what may be shown and what must be sealed.
type Content struct {
	Runtime string
	Public  map[string]string // shown as is
	Secret  []string          // field names shown as "******"
	All     map[string]string // everything, to be encrypted
}

// ContentInput is content as a request carries it: a JSON object of string
// fields, or a string holding that object's JSON or a kubeconfig (the
// runtime env spec types content as String). An absent or null content is
// not Given.
type ContentInput struct {
	fields map[string]string
	text   *string // the string form, decoded by Fields
}

// UnmarshalJSON keeps the object form's decoding (and its errors) as a
// plain map's, and only records the string form: Fields reports its errors
// naming content, which a decoder error could not.
func (c *ContentInput) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '"' {
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return err
		}
		*c = ContentInput{text: &s}
		return nil
	}
	*c = ContentInput{}
	return json.Unmarshal(b, &c.fields)
}

// Given tells whether the request carried content (an empty object counts).
func (c ContentInput) Given() bool { return c.fields != nil || c.text != nil }

// Fields is the content's fields, from either form.
func (c ContentInput) Fields() (map[string]string, error) {
	if c.text == nil {
		return c.fields, nil
	}
	var fields map[string]string
	dec := json.NewDecoder(strings.NewReader(*c.text))
	err := dec.Decode(&fields)
	if err == nil {
		if _, end := dec.Token(); end != io.EOF {
			err = errors.New("data after the object")
		}
	}
	if err != nil || fields == nil {
		// OpenPitrix clients send a kubernetes credential as the kubeconfig itself.
		if k := *c.text; strings.Contains(k, "clusters:") && strings.Contains(k, "apiVersion:") {
			return map[string]string{"kubeconfig": k}, nil
		}
		return nil, errs.Invalid("content", "is a string, so it must hold a JSON object of string fields (the object content takes), or a kubeconfig")
	}
	return fields, nil
}

// Mask is what secret values read back as.
const Mask = "******"

// ParseContent validates a credential's content dict. Accepted shapes:
// qingcloud {access_key_id, secret_access_key}; kubernetes {kubeconfig} or
// {server, token, certificate_authority_data}; a docker registry {server,
// username, password}.
func ParseContent(raw map[string]string) (*Content, error) {
	if len(raw) == 0 {
		return nil, errs.Invalid("content", "is required: {access_key_id, secret_access_key} for qingcloud, {kubeconfig} or {server, token, certificate_authority_data} for kubernetes")
	}
	for k, v := range raw {
		if v == "" {
			return nil, errs.Invalid("content."+k, "must not be empty")
		}
		if len(v) > 64<<10 {
			return nil, errs.Invalid("content."+k, "must be at most 64 KiB")
		}
	}
	switch {
	case hasExactly(raw, "access_key_id", "secret_access_key"):
		return &Content{QingCloud, map[string]string{"access_key_id": raw["access_key_id"]}, []string{"secret_access_key"}, raw}, nil
	case hasExactly(raw, "kubeconfig"):
		server, err := CheckKubeconfig(raw["kubeconfig"])
		if err != nil {
			return nil, err
		}
		return &Content{Kubernetes, map[string]string{"server": server}, []string{"kubeconfig"}, raw}, nil
	case hasExactly(raw, "server", "username", "password"):
		// A docker registry, for environments' image pulls (registry_id).
		return &Content{Registry, map[string]string{"server": raw["server"], "username": raw["username"]}, []string{"password"}, raw}, nil
	case hasExactly(raw, "server", "token", "certificate_authority_data"):
		if _, err := ParseCAData(raw["certificate_authority_data"]); err != nil {
			return nil, errs.Invalid("content.certificate_authority_data", "%v", err)
		}
		pub := map[string]string{"server": raw["server"], "certificate_authority_data": raw["certificate_authority_data"]}
		return &Content{Kubernetes, pub, []string{"token"}, raw}, nil
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return nil, errs.Invalid("content", "has fields %v: expected {access_key_id, secret_access_key}, {kubeconfig}, {server, token, certificate_authority_data} or {server, username, password}", keys)
}

func hasExactly(m map[string]string, keys ...string) bool {
	if len(m) != len(keys) {
		return false
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	return true
}

// ParseCAData decodes base64 PEM certificates, as kubeconfig's certificate-authority-data.
func ParseCAData(s string) (*x509.CertPool, error) {
	data, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errString("must be base64 of PEM certificates")
	}
	return ParseCAPEM(data)
}

// ParseCAPEM parses PEM certificates into a pool.
func ParseCAPEM(data []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" || len(block.Headers) > 0 {
			return nil, errString("holds a PEM block that is not a plain CERTIFICATE")
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, errString("holds a certificate that does not parse")
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, errString("must hold at least one PEM certificate")
	}
	return pool, nil
}

type errString string

func (e errString) Error() string { return string(e) }

// CheckKubeconfig accepts only self-contained kubeconfigs: no exec plugins,
// auth providers, token files or any other file path, and a current context
// naming a cluster. It returns that cluster's server.
func CheckKubeconfig(s string) (string, error) {
	const field = "content.kubeconfig"
	cfg, err := clientcmd.Load([]byte(s))
	if err != nil {
		return "", errs.Invalid(field, "does not parse: %v", err)
	}
	for name, ai := range cfg.AuthInfos {
		switch {
		case ai.Exec != nil:
			return "", errs.Invalid(field, "user %q uses exec, which is not allowed", name)
		case ai.AuthProvider != nil:
			return "", errs.Invalid(field, "user %q uses auth-provider, which is not allowed", name)
		case ai.TokenFile != "":
			return "", errs.Invalid(field, "user %q uses tokenFile, which is not allowed: inline the token", name)
		case ai.ClientCertificate != "" || ai.ClientKey != "":
			return "", errs.Invalid(field, "user %q refers to certificate files: use client-certificate-data and client-key-data", name)
		case ai.Impersonate != "" || len(ai.ImpersonateGroups) > 0:
			return "", errs.Invalid(field, "user %q impersonates, which is not allowed", name)
		}
		if len(ai.ClientCertificateData) > 0 || len(ai.ClientKeyData) > 0 {
			if _, err := tls.X509KeyPair(ai.ClientCertificateData, ai.ClientKeyData); err != nil {
				return "", errs.Invalid(field, "user %q: client-certificate-data and client-key-data must be a matching PEM pair", name)
			}
		}
	}
	for name, c := range cfg.Clusters {
		if c.CertificateAuthority != "" {
			return "", errs.Invalid(field, "cluster %q refers to a CA file: use certificate-authority-data", name)
		}
		if c.ProxyURL != "" {
			return "", errs.Invalid(field, "cluster %q sets proxy-url, which is not allowed", name)
		}
		if len(c.CertificateAuthorityData) > 0 {
			if _, err := ParseCAPEM(c.CertificateAuthorityData); err != nil {
				return "", errs.Invalid(field, "cluster %q: certificate-authority-data %v", name, err)
			}
		}
	}
	ctx, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok {
		return "", errs.Invalid(field, "must set current-context to a defined context")
	}
	cluster, ok := cfg.Clusters[ctx.Cluster]
	if !ok || cluster.Server == "" {
		return "", errs.Invalid(field, "current context must name a cluster with a server")
	}
	if _, ok := cfg.AuthInfos[ctx.AuthInfo]; !ok {
		return "", errs.Invalid(field, "current context must name a defined user")
	}
	return cluster.Server, nil
}
