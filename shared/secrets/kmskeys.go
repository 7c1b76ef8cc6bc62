package secrets

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/envhub/envhub/shared/awserr"
)

// KMSAPI is the part of the KMS client KMSKeys uses.
type KMSAPI interface {
	GenerateDataKey(context.Context, *kms.GenerateDataKeyInput, ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(context.Context, *kms.DecryptInput, ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

var _ KMSAPI = (*kms.Client)(nil)

// KMSKeys gets data keys from AWS KMS under one key, with the record bound
// as encryption context (so CloudTrail shows which record was opened).
type KMSKeys struct {
	Client KMSAPI
	KeyID  string
}

var _ KeyProvider = KMSKeys{}

// GenerateDataKey asks KMS for an AES-256 data key.
func (k KMSKeys) GenerateDataKey(ctx context.Context, ec map[string]string) ([]byte, []byte, error) {
	out, err := k.Client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId: aws.String(k.KeyID), KeySpec: types.DataKeySpecAes256, EncryptionContext: ec,
	})
	if err != nil {
		return nil, nil, awserr.Classify("KMS", err)
	}
	return out.Plaintext, out.CiphertextBlob, nil
}

// Decrypt asks KMS to unwrap a data key.
func (k KMSKeys) Decrypt(ctx context.Context, wrapped []byte, ec map[string]string) ([]byte, error) {
	out, err := k.Client.Decrypt(ctx, &kms.DecryptInput{
		KeyId: aws.String(k.KeyID), CiphertextBlob: wrapped, EncryptionContext: ec,
	})
	if err != nil {
		return nil, awserr.Classify("KMS", err)
	}
	return out.Plaintext, nil
}
