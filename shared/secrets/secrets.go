// Package secrets seals credential content with envelope encryption: a fresh
// AES-256 data key per record, itself wrapped by a key provider (KMS in AWS,
// a local key file for make run), bound to the record id.
package secrets

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// KeyProvider creates and unwraps data keys. context binds a key to a record.
type KeyProvider interface {
	GenerateDataKey(ctx context.Context, context map[string]string) (plain, wrapped []byte, err error)
	Decrypt(ctx context.Context, wrapped []byte, context map[string]string) ([]byte, error)
}

// NoKeys is the key provider of a function given no key: it seals and
// opens nothing.
type NoKeys struct{}

var errNoKeys = errors.New("no encryption key configured (KMS_KEY_ID or LOCAL_KEY_FILE)")

// GenerateDataKey fails: there is no key.
func (NoKeys) GenerateDataKey(context.Context, map[string]string) ([]byte, []byte, error) {
	return nil, nil, errNoKeys
}

// Decrypt fails: there is no key.
func (NoKeys) Decrypt(context.Context, []byte, map[string]string) ([]byte, error) {
	return nil, errNoKeys
}

// Sealer encrypts and decrypts credential content.
type Sealer struct{ Keys KeyProvider }

type envelope struct {
	Key   []byte `json:"k"` // wrapped data key
	Nonce []byte `json:"n"`
	Data  []byte `json:"d"`
}

// ErrOpen means sealed data could not be decrypted (wrong key or record).
var ErrOpen = errors.New("sealed data cannot be opened")

// Seal encrypts fields for the record id.
func (s Sealer) Seal(ctx context.Context, id string, fields map[string]string) ([]byte, error) {
	plain, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	key, wrapped, err := s.Keys.GenerateDataKey(ctx, bind(id))
	if err != nil {
		return nil, fmt.Errorf("generate data key: %w", err)
	}
	aead, err := gcm(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return json.Marshal(envelope{Key: wrapped, Nonce: nonce, Data: aead.Seal(nil, nonce, plain, []byte(id))})
}

// Open decrypts what Seal produced for the same record id.
func (s Sealer) Open(ctx context.Context, id string, sealed []byte) (map[string]string, error) {
	var env envelope
	if err := json.Unmarshal(sealed, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOpen, err)
	}
	key, err := s.Keys.Decrypt(ctx, env.Key, bind(id))
	if err != nil {
		return nil, fmt.Errorf("%w: unwrap data key: %w", ErrOpen, err)
	}
	aead, err := gcm(key)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, env.Nonce, env.Data, []byte(id))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOpen, err)
	}
	var fields map[string]string
	if err := json.Unmarshal(plain, &fields); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOpen, err)
	}
	return fields, nil
}

func bind(id string) map[string]string { return map[string]string{"envhub:record": id} }

func gcm(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("data key: %w", err)
	}
	return cipher.NewGCM(block)
}

// SealBytes encrypts a blob for the record id in a compact binary envelope
// (no base64): an operation's plan, which may hold Secrets, is stored in
// items close to DynamoDB's size limit.
func (s Sealer) SealBytes(ctx context.Context, id string, plain []byte) ([]byte, error) {
	key, wrapped, err := s.Keys.GenerateDataKey(ctx, bind(id))
	if err != nil {
		return nil, fmt.Errorf("generate data key: %w", err)
	}
	if len(wrapped) > 0xffff {
		return nil, errors.New("wrapped data key too long")
	}
	aead, err := gcm(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 2, 2+len(wrapped)+aead.NonceSize()+len(plain)+aead.Overhead())
	binary.BigEndian.PutUint16(out, uint16(len(wrapped)))
	out = append(out, wrapped...)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plain, []byte(id)), nil
}

// OpenBytes decrypts what SealBytes produced for the same record id.
func (s Sealer) OpenBytes(ctx context.Context, id string, sealed []byte) ([]byte, error) {
	if len(sealed) < 2 {
		return nil, fmt.Errorf("%w: too short", ErrOpen)
	}
	n := int(binary.BigEndian.Uint16(sealed))
	if len(sealed) < 2+n {
		return nil, fmt.Errorf("%w: too short", ErrOpen)
	}
	key, err := s.Keys.Decrypt(ctx, sealed[2:2+n], bind(id))
	if err != nil {
		return nil, fmt.Errorf("%w: unwrap data key: %w", ErrOpen, err)
	}
	aead, err := gcm(key)
	if err != nil {
		return nil, err
	}
	rest := sealed[2+n:]
	if len(rest) < aead.NonceSize() {
		return nil, fmt.Errorf("%w: too short", ErrOpen)
	}
	plain, err := aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], []byte(id))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOpen, err)
	}
	return plain, nil
}
