package workload

import (
	"context"
	"net/http"
	"regexp"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/operation"
)

// Event is one event as the spec's "List Events" shows it.
type Event struct {
	Reason    string `json:"reason"`
	Message   string `json:"message"`
	FirstSeen int64  `json:"first_seen"`
	LastSeen  int64  `json:"last_seen"`
	Count     int32  `json:"count"`
	Type      string `json:"type"`
}

// kindPattern is what a Kubernetes kind looks like (Deployment, Pod...).
var kindPattern = regexp.MustCompile(`^[A-Z][A-Za-z0-9]{0,62}$`)

// events lists the events of the environment's namespace, newest first,
// about the object named by name and type (its kind), each optional.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) error {
	caller, q, err := operation.Request(r, nil, "envName", "name", "type")
	if err != nil {
		return err
	}
	envKey, err := q.String("envName")
	if err != nil {
		return err
	}
	f := cluster.EventFilter{}
	if f.Name, err = q.String("name"); err != nil {
		return err
	}
	if f.Kind, err = q.String("type"); err != nil {
		return err
	}
	if f.Name != "" {
		if err := checkName("name", f.Name); err != nil {
			return err
		}
	}
	if f.Kind != "" && !kindPattern.MatchString(f.Kind) {
		return errs.Invalid("type", "%q is not a Kubernetes kind (Deployment, StatefulSet, Pod...)", f.Kind)
	}
	pkey, err := q.String("projectKey")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), operation.RequestTimeout)
	defer cancel()
	_, evs, err := operation.Live(ctx, h.Starter, caller, pkey, envKey, func(ctx context.Context) (*model.Environment, error) {
		_, e, err := h.Named(ctx, "", operation.Names{ProjectField: "projectKey", Project: pkey, EnvField: "envName", Env: envKey}, caller)
		return e, err
	}, func(ctx context.Context, c *cluster.Cluster, namespace string) ([]cluster.Event, error) {
		return c.Events(ctx, namespace, f)
	})
	if err != nil {
		return err
	}
	out := make([]Event, len(evs))
	for i, ev := range evs {
		out[i] = Event{Reason: ev.Reason, Message: ev.Message, FirstSeen: ev.FirstSeen.Unix(), LastSeen: ev.LastSeen.Unix(), Count: ev.Count, Type: ev.Type}
	}
	api.WriteJSON(w, out)
	return nil
}
