// Package backend builds the vendor backend's services from settings in the environment, once for
// every program that serves or operates them (the API server, its Lambda, supportctl): wiring only,
// no business rule of its own.
package backend

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

// ErrIssuerNotConfigured: VENDOR_ACCOUNT_ID or SIGNER_ROLE_ARN is not set.
var ErrIssuerNotConfigured = errors.New("the issuer is not configured: set VENDOR_ACCOUNT_ID and SIGNER_ROLE_ARN")

// Vendor is the default vendor, renamed by VENDOR_NAME, its issuer hosts by ISSUER_PRIMARY_HOST
// and ISSUER_STANDBY_HOST (as the hook Lambda reads them).
func Vendor(getenv func(string) string) policy.Vendor {
	v := policy.DefaultVendor()
	if name := getenv("VENDOR_NAME"); name != "" {
		v.Name = name
	}
	for i, k := range []string{"ISSUER_PRIMARY_HOST", "ISSUER_STANDBY_HOST"} {
		if h := getenv(k); h != "" {
			v.IssuerHosts[i] = h
		}
	}
	return v
}

// NewIssuer wires the issuer from VENDOR_ACCOUNT_ID and SIGNER_ROLE_ARN, its keys in the registry's
// table; nil, nil when either is not set (everything but minting and key management works without).
// signer, if not nil, signs and computes subjects (a KMS client acting as SIGNER_ROLE_ARN, which the
// keys' policies name); nil: awsCfg's own credentials do. With ISSUER_BUCKET, as the hook has it,
// the issuer publishes an account's documents there whenever its keys change (a rotation from
// supportctl included, before the new key signs), and signs only with published keys.
func NewIssuer(getenv func(string) string, awsCfg aws.Config, reg *registry.Registry, db *dynamodb.Client, signer issuer.KMSAPI) (*issuer.Issuer, error) {
	if getenv("VENDOR_ACCOUNT_ID") == "" || getenv("SIGNER_ROLE_ARN") == "" {
		return nil, nil
	}
	cfg := issuer.Config{Vendor: Vendor(getenv), Partition: "aws", VendorAccount: getenv("VENDOR_ACCOUNT_ID"),
		SignerRoleARN: getenv("SIGNER_ROLE_ARN"), Signer: signer}
	if bucket := getenv("ISSUER_BUCKET"); bucket != "" {
		cfg.Publisher = &issuer.S3Publisher{S3: s3.NewFromConfig(awsCfg), Bucket: bucket}
	}
	return issuer.New(cfg, kms.NewFromConfig(awsCfg), &issuer.DynamoStore{DB: db, Table: reg.Table})
}

// NewBroker wires a broker on table from SUPPORT_ENVIRONMENT, BROKER_MAX_DURATION,
// BROKER_PENDING_FOR and BROKER_STAFF_DOMAINS, each checked by AWS's and the broker's rules as it is read; the errors name
// the variable.
// Its failures are logged to log (slog.Default() if nil).
func NewBroker(getenv func(string) string, awsCfg aws.Config, reg *registry.Registry, mint broker.Minter, db *dynamodb.Client, table string, log *slog.Logger) (*broker.Broker, error) {
	cfg := broker.Config{Vendor: Vendor(getenv), Environment: getenv("SUPPORT_ENVIRONMENT"), Logger: log}
	if err := policy.ValidateSessionTagValue(cfg.Environment); err != nil {
		return nil, fmt.Errorf("SUPPORT_ENVIRONMENT (the %s session tag value): %w", cfg.Vendor.SessionTagKey(), err)
	}
	for _, d := range []struct {
		name  string
		v     *time.Duration
		check func(time.Duration) error
	}{{"BROKER_MAX_DURATION", &cfg.MaxDuration, broker.ValidateMaxDuration}, {"BROKER_PENDING_FOR", &cfg.PendingFor, broker.ValidatePendingFor}} {
		if s := getenv(d.name); s != "" {
			v, err := time.ParseDuration(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", d.name, err)
			}
			if err := d.check(v); err != nil {
				return nil, fmt.Errorf("%s=%s: %w", d.name, s, err)
			}
			*d.v = v
		}
	}
	if s := getenv("BROKER_STAFF_DOMAINS"); s != "" {
		cfg.StaffDomains = strings.Split(s, ",")
		if err := broker.ValidateStaffDomains(cfg.StaffDomains); err != nil {
			return nil, fmt.Errorf("BROKER_STAFF_DOMAINS=%s: %w", s, err)
		}
	}
	return broker.New(cfg, reg, mint, sts.NewFromConfig(awsCfg), db, table)
}
