package runtimeenv_test

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

// Totals come from counters kept in the same transactions as the records.
// After a random mix of creates, modifies and deletes, every scope's counter
// total must equal a real count (filter path) and the items a cursor walk finds.
func TestTotalsStayExact(t *testing.T) {
	e := lt.New(t)
	rng := rand.New(rand.NewPCG(1, 2))
	users := []lt.User{lt.Alice, lt.Bob, lt.Admin}
	owners := []string{"alice", "bob", "carol"}
	vis := []string{"private", "public"}
	var envs []string
	for i := 0; i < 60; i++ {
		switch op := rng.IntN(10); {
		case op < 5 || len(envs) == 0:
			envs = append(envs, e.RuntimeEnv(t, lt.Admin, "name", fmt.Sprint("e", i), "owner", owners[rng.IntN(3)], "visibility", vis[rng.IntN(2)]))
		case op < 8:
			body := map[string]any{"visibility": vis[rng.IntN(2)]}
			if rng.IntN(2) == 0 {
				body["owner"] = owners[rng.IntN(3)]
			}
			r := e.Call(lt.Admin, "ModifyRuntimeEnv", lt.Req{Path: map[string]string{"runtime_env_id": envs[rng.IntN(len(envs))]}, Body: body})
			if r.Status != 200 && r.Status != 404 { // 404: already deleted
				t.Fatalf("modify: %s", r.Raw)
			}
		default:
			id := envs[rng.IntN(len(envs))]
			if r := e.Call(lt.Admin, "DeleteRuntimeEnv", lt.Req{Path: map[string]string{"runtime_env_id": id}}); r.Status != 200 && r.Status != 404 {
				t.Fatalf("delete: %s", r.Raw)
			}
		}
	}
	queries := []url.Values{
		{}, {"visibility": {"public"}}, {"visibility": {"private"}}, {"owners": {"bob"}}, {"owners": {"alice", "carol"}},
		{"owners": {"bob"}, "visibility": {"public"}}, {"status": {"deleted"}}, {"status": {"active", "deleted"}, "visibility": {"private"}},
	}
	for _, u := range users {
		for _, q := range queries {
			counted := describe(t, e, u, q).Body["total_count"]
			filtered := url.Values{"runtime": {"kubernetes"}}
			for k, v := range q {
				filtered[k] = v
			}
			real := describe(t, e, u, filtered).Body["total_count"]
			walked := 0
			page := url.Values{"page_size": {"7"}}
			for k, v := range q {
				page[k] = v
			}
			for {
				r := describe(t, e, u, page)
				walked += len(ids(r))
				tok, _ := r.Body["next_token"].(string)
				if tok == "" {
					break
				}
				page.Set("next_token", tok)
			}
			if counted != real || real != float64(walked) {
				t.Errorf("%s %v: counter total %v, counted %v, walked %d", u.Sub, q, counted, real, walked)
			}
		}
	}
}
