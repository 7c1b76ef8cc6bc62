package cluster_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/secrets"
)

func TestForEnv(t *testing.T) {
	_, lc := connect(t)
	keys, err := secrets.LoadFileKeys(filepath.Join(t.TempDir(), "key"))
	if err != nil {
		t.Fatal(err)
	}
	sealer := secrets.Sealer{Keys: keys}
	sealed, err := sealer.Seal(context.Background(), "rec-1", lc.Content())
	if err != nil {
		t.Fatal(err)
	}
	cred := &model.Credential{Record: model.Record{ID: "rec-1"}, Runtime: model.Kubernetes, Sealed: sealed}
	env := func(mod func(*model.RuntimeEnv)) *model.RuntimeEnv {
		e := &model.RuntimeEnv{Record: model.Record{ID: "re-1", Status: model.StatusActive}, Runtime: model.Kubernetes, Endpoint: lc.Server, CredentialID: "rec-1"}
		if mod != nil {
			mod(e)
		}
		return e
	}
	c, err := cluster.ForRuntimeEnv(context.Background(), env(nil), cred, sealer, local)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ServerVersion(context.Background()); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		env  *model.RuntimeEnv
		want error
	}{
		"qingcloud env": {env(func(e *model.RuntimeEnv) { e.Runtime = model.QingCloud }), errs.ErrInvalid},
		"deleted env":   {env(func(e *model.RuntimeEnv) { e.Status = model.StatusDeleted }), errs.ErrNotFound},
		"no credential": {env(func(e *model.RuntimeEnv) { e.CredentialID = "" }), errs.ErrConflict},
		"other id":      {env(func(e *model.RuntimeEnv) { e.CredentialID = "rec-2" }), errs.ErrConflict},
	} {
		if _, err := cluster.ForRuntimeEnv(context.Background(), tc.env, cred, sealer, local); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
	tampered := *cred
	tampered.ID = "rec-2"
	if _, err := cluster.ForRuntimeEnv(context.Background(), env(func(e *model.RuntimeEnv) { e.CredentialID = "rec-2" }), &tampered, sealer, local); !errors.Is(err, secrets.ErrOpen) {
		t.Errorf("content sealed for another record opened: %v", err)
	}
}
