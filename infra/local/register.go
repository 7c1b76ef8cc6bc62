package local

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// RegisterCluster registers the local control plane (scripts/k8s-up.sh wrote
// dir) as the public kubernetes runtime env "local" with its credential
// attached, through the API itself, so a newcomer can use it at once. An
// existing "local" env is reused.
func RegisterCluster(ctx context.Context, apiURL, token, dir string) (string, error) {
	read := func(name string) (string, error) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		return strings.TrimSpace(string(data)), err
	}
	server, err := read("server")
	if err != nil {
		return "", err
	}
	clusterToken, err := read("token")
	if err != nil {
		return "", err
	}
	ca, err := read("ca.crt")
	if err != nil {
		return "", err
	}
	call := func(method, path string, body any) (map[string]any, error) {
		var buf bytes.Buffer
		if body != nil {
			_ = json.NewEncoder(&buf).Encode(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, apiURL+path, &buf)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s %s: %d %v", method, path, resp.StatusCode, out["message"])
		}
		return out, nil
	}
	found, err := call("GET", "/v1/runtime_envs?"+url.Values{"search_word": {"local"}, "runtime": {"kubernetes"}, "verbose": {"1"}}.Encode(), nil)
	if err != nil {
		return "", err
	}
	for _, it := range found["runtime_env_set"].([]any) {
		env := it.(map[string]any)
		if env["name"] == "local" && env["endpoint"] == server && len(env["runtime_env_credential_ids"].([]any)) > 0 {
			return env["runtime_env_id"].(string), nil
		}
	}
	env, err := call("POST", "/v1/runtime_envs", map[string]any{"runtime": "kubernetes", "name": "local",
		"description": "the local control plane started by make run", "endpoint": server, "zone": "default", "visibility": "public"})
	if err != nil {
		return "", err
	}
	cred, err := call("POST", "/v1/runtime_env_credentials", map[string]any{"name": "local-admin", "content": map[string]any{
		"server": server, "token": clusterToken, "certificate_authority_data": base64.StdEncoding.EncodeToString([]byte(ca + "\n"))}})
	if err != nil {
		return "", err
	}
	envID, credID := env["runtime_env_id"].(string), cred["runtime_env_credential_id"].(string)
	if _, err := call("POST", "/v1/runtime_envs/"+envID+"/credentials/"+credID, nil); err != nil {
		return "", err
	}
	return envID, nil
}
