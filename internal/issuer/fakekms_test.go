package issuer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// fakeKMS is a hand-written KMSAPI that implements Sign as real KMS documents it: with
// MessageType DIGEST the message is the 32-byte digest itself. moto hashes it again (see
// TestMotoSignIgnoresDigest), so the production signing path is proven here.
type fakeKMS struct {
	mu       sync.Mutex
	keys     map[string]*ecdsa.PrivateKey
	hmacKeys map[string][]byte
	aliases  map[string]string
	signs    []kms.SignInput
	macs     []kms.GenerateMacInput
}

var _ KMSAPI = (*fakeKMS)(nil)

func newFakeKMS() *fakeKMS {
	return &fakeKMS{keys: map[string]*ecdsa.PrivateKey{}, hmacKeys: map[string][]byte{}, aliases: map[string]string{}}
}

func (f *fakeKMS) key(id *string) (*ecdsa.PrivateKey, error) {
	k, ok := f.keys[aws.ToString(id)]
	if !ok {
		return nil, &types.NotFoundException{Message: aws.String("no key " + aws.ToString(id))}
	}
	return k, nil
}

func (f *fakeKMS) CreateKey(_ context.Context, in *kms.CreateKeyInput, _ ...func(*kms.Options)) (*kms.CreateKeyOutput, error) {
	if in.KeySpec == types.KeySpecHmac256 && in.KeyUsage == types.KeyUsageTypeGenerateVerifyMac {
		material := make([]byte, 32)
		if _, err := rand.Read(material); err != nil {
			return nil, err
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		id := fmt.Sprintf("fake-hmac-%04d", len(f.hmacKeys)+1)
		f.hmacKeys[id] = material
		return &kms.CreateKeyOutput{KeyMetadata: &types.KeyMetadata{KeyId: aws.String(id)}}, nil
	}
	if in.KeySpec != types.KeySpecEccNistP256 || in.KeyUsage != types.KeyUsageTypeSignVerify {
		return nil, fmt.Errorf("fake KMS: unexpected key %s/%s", in.KeySpec, in.KeyUsage)
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf("fake-%04d", len(f.keys)+1)
	f.keys[id] = k
	return &kms.CreateKeyOutput{KeyMetadata: &types.KeyMetadata{KeyId: aws.String(id)}}, nil
}

func (f *fakeKMS) CreateAlias(_ context.Context, in *kms.CreateAliasInput, _ ...func(*kms.Options)) (*kms.CreateAliasOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.aliases[aws.ToString(in.AliasName)]; ok {
		return nil, &types.AlreadyExistsException{}
	}
	f.aliases[aws.ToString(in.AliasName)] = aws.ToString(in.TargetKeyId)
	return &kms.CreateAliasOutput{}, nil
}

func (f *fakeKMS) UpdateAlias(_ context.Context, in *kms.UpdateAliasInput, _ ...func(*kms.Options)) (*kms.UpdateAliasOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.aliases[aws.ToString(in.AliasName)]; !ok {
		return nil, &types.NotFoundException{}
	}
	f.aliases[aws.ToString(in.AliasName)] = aws.ToString(in.TargetKeyId)
	return &kms.UpdateAliasOutput{}, nil
}

func (f *fakeKMS) DeleteAlias(_ context.Context, in *kms.DeleteAliasInput, _ ...func(*kms.Options)) (*kms.DeleteAliasOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.aliases, aws.ToString(in.AliasName))
	return &kms.DeleteAliasOutput{}, nil
}

func (f *fakeKMS) GetPublicKey(_ context.Context, in *kms.GetPublicKeyInput, _ ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, err := f.key(in.KeyId)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return nil, err
	}
	return &kms.GetPublicKeyOutput{KeyId: in.KeyId, PublicKey: der, KeySpec: types.KeySpecEccNistP256}, nil
}

func (f *fakeKMS) Sign(_ context.Context, in *kms.SignInput, _ ...func(*kms.Options)) (*kms.SignOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signs = append(f.signs, *in)
	k, err := f.key(in.KeyId)
	if err != nil {
		return nil, err
	}
	if in.MessageType != types.MessageTypeDigest || len(in.Message) != 32 || in.SigningAlgorithm != types.SigningAlgorithmSpecEcdsaSha256 {
		// what the key policy's Deny statements refuse
		return nil, errors.New("fake KMS: AccessDeniedException: only ECDSA_SHA_256 over a 32-byte DIGEST")
	}
	sig, err := ecdsa.SignASN1(rand.Reader, k, in.Message)
	if err != nil {
		return nil, err
	}
	return &kms.SignOutput{KeyId: in.KeyId, Signature: sig, SigningAlgorithm: in.SigningAlgorithm}, nil
}

func (f *fakeKMS) ScheduleKeyDeletion(_ context.Context, in *kms.ScheduleKeyDeletionInput, _ ...func(*kms.Options)) (*kms.ScheduleKeyDeletionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := aws.ToString(in.KeyId)
	if _, ok := f.hmacKeys[id]; ok {
		delete(f.hmacKeys, id)
		return &kms.ScheduleKeyDeletionOutput{KeyId: in.KeyId}, nil
	}
	if _, err := f.key(in.KeyId); err != nil {
		return nil, err
	}
	delete(f.keys, id)
	return &kms.ScheduleKeyDeletionOutput{KeyId: in.KeyId}, nil
}

// resolve turns an alias into the key ID it names; anything else is returned as is.
func (f *fakeKMS) resolve(id *string) string {
	if target, ok := f.aliases[aws.ToString(id)]; ok {
		return target
	}
	return aws.ToString(id)
}

func (f *fakeKMS) DescribeKey(_ context.Context, in *kms.DescribeKeyInput, _ ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.resolve(in.KeyId)
	_, signing := f.keys[id]
	_, hmacKey := f.hmacKeys[id]
	if !signing && !hmacKey {
		return nil, &types.NotFoundException{Message: aws.String("no key " + aws.ToString(in.KeyId))}
	}
	return &kms.DescribeKeyOutput{KeyMetadata: &types.KeyMetadata{KeyId: aws.String(id)}}, nil
}

func (f *fakeKMS) GenerateMac(_ context.Context, in *kms.GenerateMacInput, _ ...func(*kms.Options)) (*kms.GenerateMacOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.macs = append(f.macs, *in)
	id := f.resolve(in.KeyId)
	material, ok := f.hmacKeys[id]
	if !ok {
		return nil, &types.NotFoundException{Message: aws.String("no key " + aws.ToString(in.KeyId))}
	}
	if in.MacAlgorithm != types.MacAlgorithmSpecHmacSha256 {
		return nil, errors.New("fake KMS: AccessDeniedException: only HMAC_SHA_256") // the key policy's Deny
	}
	m := hmac.New(sha256.New, material)
	m.Write(in.Message)
	return &kms.GenerateMacOutput{KeyId: aws.String(id), Mac: m.Sum(nil), MacAlgorithm: in.MacAlgorithm}, nil
}
