package secrets

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// FileKeys wraps data keys with a 256-bit key kept in a local file (0600),
// the local stand-in for a KMS key.
type FileKeys struct{ key []byte }

var _ KeyProvider = (*FileKeys)(nil)

// LoadFileKeys reads the key file, creating it with a random key if absent.
func LoadFileKeys(path string) (*FileKeys, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, key, 0o600); err != nil {
			return nil, fmt.Errorf("write key file: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("key file %s must hold 32 bytes", path)
	}
	return &FileKeys{key: key}, nil
}

// GenerateDataKey returns a random data key and its wrapped form.
func (f *FileKeys) GenerateDataKey(_ context.Context, ec map[string]string) ([]byte, []byte, error) {
	plain := make([]byte, 32)
	if _, err := rand.Read(plain); err != nil {
		return nil, nil, err
	}
	aead, err := gcm(f.key)
	if err != nil {
		return nil, nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, err
	}
	aad, _ := json.Marshal(ec) // map keys marshal sorted: a stable binding
	return plain, append(nonce, aead.Seal(nil, nonce, plain, aad)...), nil
}

// Decrypt unwraps a data key for the same encryption context.
func (f *FileKeys) Decrypt(_ context.Context, wrapped []byte, ec map[string]string) ([]byte, error) {
	aead, err := gcm(f.key)
	if err != nil {
		return nil, err
	}
	if len(wrapped) < aead.NonceSize() {
		return nil, errors.New("wrapped key too short")
	}
	aad, _ := json.Marshal(ec)
	return aead.Open(nil, wrapped[:aead.NonceSize()], wrapped[aead.NonceSize():], aad)
}
