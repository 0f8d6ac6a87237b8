package hook

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/supportaccess/gateway/internal/awsx"
	"github.com/supportaccess/gateway/internal/gateway"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

// Settings configure a process that runs the hook's rules: the hook Lambda, and supportctl for
// repairs and sweeps.
type Settings struct {
	Vendor            policy.Vendor
	VendorAccountID   string
	Table             string   // the registry's DynamoDB table (the issuer's key records live there too)
	Partitions        []string // nil: aws
	Regions           []string // nil: us-east-1
	SignerRoleARN     string   // "": no issuer, no signing keys, gateway claims never proven
	IssuerBucket      string   // where the issuer's documents are published; required with SignerRoleARN
	Paces             Paces
	Budget            time.Duration // IAM propagation budget
	Thumbprints       []string      // the providers' certificate thumbprints (gateway.CheckThumbprints); nil: IAM's own
	SkipNegativeProbe bool          // only where STS ignores trust policies
	Logger            *slog.Logger
}

// New builds the hook, and the provisioning step it uses, on the process's own AWS config (the
// vendor backend role). Only the signer role may sign with the account keys (their key policies say
// so, and KMS enforces it), so the hook creates keys as itself and signs through the signer role.
func New(cfg aws.Config, s Settings) (*Hook, *Reconciling, error) {
	if s.SignerRoleARN != "" && s.IssuerBucket == "" {
		return nil, nil, fmt.Errorf("an issuer bucket is required with the signer role: gateway roles are proven with tokens " +
			"STS verifies against the documents published there")
	}
	if err := gateway.CheckThumbprints(s.Thumbprints); err != nil {
		return nil, nil, fmt.Errorf("the providers' thumbprints: %w", err)
	}
	p := NewReconciling(cfg, ReconcilingConfig{Vendor: s.Vendor, Budget: s.Budget, Thumbprints: s.Thumbprints,
		SkipNegativeProbe: s.SkipNegativeProbe, Logger: s.Logger})
	db := dynamodb.NewFromConfig(cfg)
	stsClient := sts.NewFromConfig(cfg)
	h := &Hook{
		Vendor:                 s.Vendor,
		VendorAccountID:        s.VendorAccountID,
		Partitions:             s.Partitions,
		Regions:                s.Regions,
		Registry:               &registry.Registry{DB: db, Table: s.Table},
		Provisioner:            p,
		UnprovenPerHour:        s.Paces.UnprovenPerHour,
		TenantClaimsPerHour:    s.Paces.TenantPerHour,
		TenantRejectionsPerDay: s.Paces.TenantRejectionsPerDay,
		ReproofsPerHour:        s.Paces.ReproofsPerHour,
		ProofBudget:            s.Budget,
		Logger:                 s.Logger,
	}
	if s.SignerRoleARN == "" {
		return h, p, nil
	}
	signer := awsx.AssumeRoleConfig(cfg, stsClient, s.SignerRoleARN, "", s.Vendor.ManagedByTag()+"-hook")
	iss, err := issuer.New(issuer.Config{Vendor: s.Vendor, Partition: "aws", VendorAccount: s.VendorAccountID,
		SignerRoleARN: s.SignerRoleARN, Signer: kms.NewFromConfig(signer),
		Publisher: &issuer.S3Publisher{S3: s3.NewFromConfig(cfg), Bucket: s.IssuerBucket}},
		kms.NewFromConfig(cfg), &issuer.DynamoStore{DB: db, Table: s.Table})
	if err != nil {
		return nil, nil, fmt.Errorf("configuring the issuer: %w", err)
	}
	h.Keys = iss
	h.Prover = &WebIdentityProver{Vendor: s.Vendor, Issuer: iss, STS: stsClient,
		IAM: func(creds aws.CredentialsProvider) RoleReader {
			c := cfg.Copy()
			c.Credentials = creds
			return iam.NewFromConfig(c)
		}}
	return h, p, nil
}

// Paces bound the proofs of gateway roles (each costs a KMS key), across all processes: every process
// that proves roles (the hook Lambda, supportctl sweep and repair) reads them from the same variables
// (README, "Configuration"). A zero field takes the Hook's default.
type Paces struct {
	UnprovenPerHour        int // UNPROVEN_CLAIMS_PER_HOUR: token-less claims and re-checks, per hour (default 100)
	TenantPerHour          int // TENANT_CLAIMS_PER_HOUR: claims naming one tenant, per tenant and hour (default 5000)
	TenantRejectionsPerDay int // TENANT_REJECTIONS_PER_DAY: a tenant's rejected proofs a day before its claims are paced as token-less (default 100)
	ReproofsPerHour        int // REPROOFS_PER_HOUR: the sweep's daily re-proofs of registrations, per hour (default 1000)
}

// PacesFromEnv reads Paces; an unset variable takes its default. It returns one error per variable
// that is not a positive integer, naming it.
func PacesFromEnv(getenv func(string) string) (Paces, []error) {
	var problems []error
	positive := func(key string, def int) int {
		v := strings.TrimSpace(getenv(key))
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			problems = append(problems, fmt.Errorf("%s: want a positive number, not %q", key, v))
			return def
		}
		return n
	}
	return Paces{
		UnprovenPerHour:        positive("UNPROVEN_CLAIMS_PER_HOUR", defaultUnprovenPerHour),
		TenantPerHour:          positive("TENANT_CLAIMS_PER_HOUR", defaultTenantClaimsPerHour),
		TenantRejectionsPerDay: positive("TENANT_REJECTIONS_PER_DAY", defaultTenantRejectionsPerDay),
		ReproofsPerHour:        positive("REPROOFS_PER_HOUR", defaultReproofsPerHour),
	}, problems
}
