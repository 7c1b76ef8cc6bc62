package envcfg_test

import (
	"encoding/base64"
	"strings"
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// secretData reads a live Secret's values, decoded.
func (f fixture) secretData(t *testing.T, key, name string) map[string]string {
	t.Helper()
	live := f.get(t, key, "v1", "Secret", name)
	if live == nil {
		t.Fatalf("no Secret %s", name)
	}
	out := map[string]string{}
	data, _ := live.Object["data"].(map[string]any)
	for k, v := range data {
		raw, err := base64.StdEncoding.DecodeString(v.(string))
		if err != nil {
			t.Fatal(err)
		}
		out[k] = string(raw)
	}
	return out
}

// noValue checks a response shows none of the values.
func noValue(t *testing.T, r lt.Response, values ...string) {
	t.Helper()
	for _, v := range values {
		if strings.Contains(r.Raw, v) || strings.Contains(r.Raw, b64(v)) {
			t.Fatalf("a Secret's value is shown: %s", r.Raw)
		}
	}
}

// A Secret's values are never shown (the environment's nor another's, not
// even through kubectl's last-applied copy); "******" in an update keeps
// the stored value of its key, and names a key with none (400).
func TestSecrets(t *testing.T) {
	f := setup(t)
	f.env(t, "sec", "")
	const password, apiKey = "s3cret-value", "k3y-value"
	f.succeeded(t, f.add(lt.Alice, "sec", "Secret", "db", "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: "+password+"}\n"))
	if got := f.secretData(t, "sec", "db"); got["password"] != password {
		t.Fatalf("live Secret %v", got)
	}
	d := f.detail(lt.Alice, "sec", "Secret", "db")
	y, _ := d.Body["secret_detail"].(map[string]any)["yaml_data"].(string)
	if d.Status != 200 || !strings.Contains(y, "password: '******'") && !strings.Contains(y, `password: "******"`) {
		t.Fatalf("detail %s", d.Raw)
	}
	noValue(t, d, password)

	// Kept: password; added: user; a key with no value to keep is refused.
	f.succeeded(t, f.put(lt.Alice, "sec", "Secret", "db", "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: \"******\", user: admin}\n"))
	if got := f.secretData(t, "sec", "db"); got["password"] != password || got["user"] != "admin" {
		t.Fatalf("after keeping the password %v", got)
	}
	// Kept again, now as data (base64), from what is stored as stringData.
	f.succeeded(t, f.put(lt.Alice, "sec", "Secret", "db", "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\ndata: {password: \"******\", user: "+b64("root")+"}\n"))
	if got := f.secretData(t, "sec", "db"); got["password"] != password || got["user"] != "root" {
		t.Fatalf("after keeping the password as data %v", got)
	}
	before := f.record(t, "sec")
	lt.Failed(t, f.put(lt.Alice, "sec", "Secret", "db", "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\ndata: {token: \"******\"}\n"), 400, "data.token")
	lt.Failed(t, f.add(lt.Alice, "sec", "Secret", "fresh", "apiVersion: v1\nkind: Secret\nmetadata: {name: fresh}\nstringData: {a: \"******\"}\n"), 400, "stringData.a")
	f.unchanged(t, "sec", before)
	if got := f.secretData(t, "sec", "db"); got["password"] != password {
		t.Fatalf("a refused update changed the Secret: %v", got)
	}

	// Someone else's Secret, applied by kubectl (which copies it into an
	// annotation): listed, shown masked, adopted keeping its value.
	f.foreign(t, ns("sec"), "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ext\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '{\"data\":{\"apikey\":\""+b64(apiKey)+"\"}}'\ndata: {apikey: "+b64(apiKey)+"}\n")
	if names := f.names(t, "sec", "Secret"); !contains(names, "ext") || !contains(names, "db") {
		t.Fatalf("secrets listed %v", names)
	}
	d = f.detail(lt.Alice, "sec", "Secret", "ext")
	if d.Status != 200 || !strings.Contains(d.Raw, "******") {
		t.Fatalf("foreign detail %s", d.Raw)
	}
	noValue(t, d, apiKey)
	f.succeeded(t, f.put(lt.Alice, "sec", "Secret", "ext", "apiVersion: v1\nkind: Secret\nmetadata: {name: ext}\ndata: {apikey: \"******\", more: "+b64("x")+"}\n"))
	if got := f.secretData(t, "sec", "ext"); got["apikey"] != apiKey || got["more"] != "x" {
		t.Fatalf("adopted Secret %v", got)
	}
	noValue(t, f.detail(lt.Alice, "sec", "Secret", "ext"), apiKey, password)
}
