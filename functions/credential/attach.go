package credential

import (
	"bytes"
	"net/http"
	"slices"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/auth"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
)

type attachResponse struct{ api.Meta }

// link reads both path ids; the caller must be able to change the env and own the credential.
func linkIDs(r *http.Request) (envID, credID string, err error) {
	if envID, err = api.PathID(r, "runtime_env_id", model.IDPrefix(model.KindRuntimeEnv)); err != nil {
		return
	}
	if credID, err = api.PathID(r, "runtime_env_credential_id", model.IDPrefix(model.KindCredential)); err != nil {
		return
	}
	_, err = api.ParseQuery(r)
	return
}

func checkPair(caller auth.Identity, e *model.RuntimeEnv, c *model.Credential) error {
	if err := usable(caller, c); err != nil {
		return err
	}
	return caller.Writable("runtime_env", &e.Record)
}

func (h *Handler) attach(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.FromRequest(r)
	if err != nil {
		return err
	}
	envID, credID, err := linkIDs(r)
	if err != nil {
		return err
	}
	check := func(e *model.RuntimeEnv, c *model.Credential) error {
		if err := checkPair(caller, e, c); err != nil {
			return err
		}
		if c.Runtime != e.Runtime {
			return errs.Invalid("runtime_env_credential_id", "credential %s is for %s, runtime env %s runs %s", c.ID, c.Runtime, e.ID, e.Runtime)
		}
		switch e.CredentialID {
		case "":
			return nil
		case c.ID:
			return errs.Conflict("credential %s is already attached to runtime env %s", c.ID, e.ID)
		}
		return errs.Conflict("runtime env %s already has credential %s attached: detach it first", e.ID, e.CredentialID)
	}
	// Check and probe live before the transaction, which then re-checks what it reads.
	e, err := h.Store.GetRuntimeEnv(r.Context(), envID)
	if err != nil {
		return err
	}
	c, err := h.Store.GetCredential(r.Context(), credID)
	if err != nil {
		return err
	}
	if err := check(e, c); err != nil {
		return err
	}
	content, err := h.Sealer.Open(r.Context(), c.ID, c.Sealed)
	if err != nil {
		return err
	}
	if err := h.Probe.Credential(r.Context(), e, content); err != nil {
		return err
	}
	// The transaction attaches only the content just validated: a rotation
	// that landed meanwhile was never probed against this env.
	err = h.Store.Attach(r.Context(), envID, credID, func(e *model.RuntimeEnv, now *model.Credential) error {
		if err := check(e, now); err != nil {
			return err
		}
		if !bytes.Equal(now.Sealed, c.Sealed) {
			return errs.Conflict("credential %s changed while it was being validated against runtime env %s: retry", c.ID, e.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	api.WriteOK(w, r, &attachResponse{})
	return nil
}

func (h *Handler) detach(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.FromRequest(r)
	if err != nil {
		return err
	}
	envID, credID, err := linkIDs(r)
	if err != nil {
		return err
	}
	err = h.Store.Detach(r.Context(), envID, credID, func(e *model.RuntimeEnv, c *model.Credential) error {
		if err := checkPair(caller, e, c); err != nil {
			return err
		}
		if e.CredentialID != c.ID || !slices.Contains(c.RuntimeEnvIDs, e.ID) {
			return errs.Conflict("credential %s is not attached to runtime env %s", c.ID, e.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	api.WriteOK(w, r, &attachResponse{})
	return nil
}
