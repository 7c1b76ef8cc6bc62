package secrets

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "k", "key")
	keys, err := LoadFileKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", st, err)
	}
	s := Sealer{Keys: keys}
	fields := map[string]string{"secret_access_key": "very-secret", "access_key_id": "AK"}
	sealed, err := s.Seal(ctx, "rec-1", fields)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("very-secret")) {
		t.Fatal("sealed data holds the secret in clear")
	}
	got, err := s.Open(ctx, "rec-1", sealed)
	if err != nil || got["secret_access_key"] != "very-secret" {
		t.Fatalf("open: %v %v", got, err)
	}
	// Bound to the record: another id cannot open it.
	if _, err := s.Open(ctx, "rec-2", sealed); !errors.Is(err, ErrOpen) {
		t.Fatalf("open under another id: %v", err)
	}
	// The same key file opens it again; another key does not.
	again, _ := LoadFileKeys(path)
	if _, err := (Sealer{Keys: again}).Open(ctx, "rec-1", sealed); err != nil {
		t.Fatalf("reloaded key: %v", err)
	}
	other, _ := LoadFileKeys(filepath.Join(t.TempDir(), "other"))
	if _, err := (Sealer{Keys: other}).Open(ctx, "rec-1", sealed); !errors.Is(err, ErrOpen) {
		t.Fatalf("other key: %v", err)
	}
	sealed[len(sealed)/2] ^= 1
	if _, err := s.Open(ctx, "rec-1", sealed); !errors.Is(err, ErrOpen) {
		t.Fatalf("tampered: %v", err)
	}
}

func TestBadKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFileKeys(path); err == nil {
		t.Fatal("accepted a short key")
	}
}

func TestSealBytes(t *testing.T) {
	ctx := context.Background()
	keys, err := LoadFileKeys(filepath.Join(t.TempDir(), "key"))
	if err != nil {
		t.Fatal(err)
	}
	s := Sealer{Keys: keys}
	plain := []byte("kind: Secret\ndata: {password: very-secret}")
	sealed, err := s.SealBytes(ctx, "op-1/plan/0", plain)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("very-secret")) {
		t.Fatal("sealed data holds the secret in clear")
	}
	if got, err := s.OpenBytes(ctx, "op-1/plan/0", sealed); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("opened %q, %v", got, err)
	}
	for name, c := range map[string]struct {
		id   string
		data []byte
	}{
		"other record": {"op-1/plan/1", sealed},
		"truncated":    {"op-1/plan/0", sealed[:len(sealed)-1]},
		"empty":        {"op-1/plan/0", nil},
		"bad length":   {"op-1/plan/0", []byte{0xff, 0xff, 1}},
	} {
		if _, err := s.OpenBytes(ctx, c.id, c.data); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
