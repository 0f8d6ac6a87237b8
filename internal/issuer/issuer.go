package issuer

import (
	"crypto/ecdsa"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/supportaccess/gateway/internal/policy"
)

// MaxTokenLifetime is the longest a token may live. The broker exchanges a token within seconds;
// a short life is what lets a rotated key leave the JWKS soon after.
const MaxTokenLifetime = 5 * time.Minute

// Config is what the issuer needs to know about the vendor's side.
type Config struct {
	Vendor        policy.Vendor
	Partition     string // of the vendor account, "aws"
	VendorAccount string // where the keys live
	SignerRoleARN string // the only principal the key policy lets sign
	// Signer is the KMS client that signs tokens and computes subjects: one acting as SignerRoleARN,
	// the only principal the keys' policies let sign. nil: the client given to New (a process that
	// runs as the signer role, such as the broker).
	Signer KMSAPI
	// Publisher publishes each account's documents whenever its keys change; with one, the issuer
	// signs only with keys it has published. nil: the documents are published by other means
	// (supportctl issuer render, or the Handler served directly).
	Publisher Publisher
}

// Issuer manages, publishes and signs with the per-account keys. It is safe for concurrent use.
type Issuer struct {
	vendor    policy.Vendor
	kms       KMSAPI
	signKMS   KMSAPI // Sign and GenerateMac
	publisher Publisher
	store     KeyStore
	keyPolicy string
	// subjectKeyPolicy is the pairwise-subject key's (EnsureSubjectKey).
	subjectKeyPolicy string

	// Now is the clock; tests replace it.
	Now func() time.Time

	// messageType is what Sign sends KMS: DIGEST (the SHA-256 the issuer computed), which the key
	// policy requires. Only this package's tests change it, for moto, whose Sign ignores DIGEST.
	messageType types.MessageType

	mu       sync.Mutex
	pubKeys  map[string]*ecdsa.PublicKey // key ID → public key; a KMS key's public key never changes
	subjects map[string]string           // HMAC message → sub; a sub never changes
}

// New returns an Issuer for cfg, with keys in kms and their list in store.
func New(cfg Config, kms KMSAPI, store KeyStore) (*Issuer, error) {
	if err := cfg.Vendor.Validate(); err != nil {
		return nil, fmt.Errorf("issuer config: %w", err)
	}
	if cfg.Partition == "" || !accountPattern.MatchString(cfg.VendorAccount) {
		return nil, fmt.Errorf("issuer config: partition %q and vendor account %q must be set", cfg.Partition, cfg.VendorAccount)
	}
	if !strings.HasPrefix(cfg.SignerRoleARN, "arn:"+cfg.Partition+":iam::"+cfg.VendorAccount+":role/") {
		return nil, fmt.Errorf("issuer config: signer %q must be a role of the vendor account", cfg.SignerRoleARN)
	}
	signer := cfg.Signer
	if signer == nil {
		signer = kms
	}
	return &Issuer{
		vendor:           cfg.Vendor,
		kms:              kms,
		signKMS:          signer,
		publisher:        cfg.Publisher,
		store:            store,
		keyPolicy:        cfg.Vendor.SigningKeyPolicy(cfg.Partition, cfg.VendorAccount, cfg.SignerRoleARN).JSON(),
		subjectKeyPolicy: cfg.Vendor.SubjectKeyPolicy(cfg.Partition, cfg.VendorAccount, cfg.SignerRoleARN).JSON(),
		Now:              time.Now,
		messageType:      types.MessageTypeDigest,
		pubKeys:          map[string]*ecdsa.PublicKey{},
		subjects:         map[string]string{},
	}, nil
}

var accountPattern = regexp.MustCompile(`^\d{12}$`)

func checkAccount(account string) error {
	if !accountPattern.MatchString(account) {
		return fmt.Errorf("%w: account ID %q is not 12 digits", ErrUnknownAccount, account)
	}
	return nil
}

func (i *Issuer) target(account string) policy.Target {
	return policy.Target{AccountID: account} // issuer URLs and audiences do not use the partition
}
