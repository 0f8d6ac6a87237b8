package main

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/supportaccess/gateway/internal/awsx"
	"github.com/supportaccess/gateway/internal/gateway"
	"github.com/supportaccess/gateway/internal/hook"
	"github.com/supportaccess/gateway/internal/policy"
)

// config is the hook Lambda's configuration, from its environment (README: "Configuration").
type config struct {
	Table                string
	Vendor               policy.Vendor
	VendorAccountID      string
	ResponseHosts        []string
	Thumbprints          []string // the issuer certificate thumbprints the providers must carry; none: IAM's own
	SignerRoleARN        string   // the role that signs tokens; set: every registered account gets a signing key
	IssuerBucket         string   // where the issuer's documents are published (required with SignerRoleARN)
	Partitions           []string // the partitions the deployment serves
	Regions              []string // the regions stacks may be in
	Paces                hook.Paces
	ProbeWithoutExternal bool
	PropagationBudget    time.Duration
	ResponseMargin       time.Duration
	LogLevel             slog.Level
}

var (
	account       = regexp.MustCompile(`^\d{12}$`)
	bucketName    = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	partitionName = regexp.MustCompile(`^aws(-[a-z]+)*$`)
	regionName    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
)

// loadConfig reads and checks every setting, and reports all problems at once.
func loadConfig(getenv func(string) string) (config, error) {
	var problems []error
	get := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	duration := func(key string, def time.Duration) time.Duration {
		d, err := time.ParseDuration(get(key, def.String()))
		if err != nil || d <= 0 {
			problems = append(problems, fmt.Errorf("%s: want a positive duration such as 90s", key))
			return def
		}
		return d
	}
	v := policy.DefaultVendor()
	v.Name = get("VENDOR_NAME", v.Name)
	v.IssuerHosts = [2]string{get("ISSUER_PRIMARY_HOST", v.IssuerHosts[0]), get("ISSUER_STANDBY_HOST", v.IssuerHosts[1])}
	c := config{
		Table:             get("REGISTRY_TABLE", ""),
		Vendor:            v,
		VendorAccountID:   get("VENDOR_ACCOUNT_ID", ""),
		PropagationBudget: duration("PROPAGATION_BUDGET", awsx.PropagationBudget),
		ResponseMargin:    duration("RESPONSE_MARGIN", 10*time.Second),
	}
	if c.Table == "" {
		problems = append(problems, errors.New("REGISTRY_TABLE: required (the registry's DynamoDB table)"))
	}
	if !account.MatchString(c.VendorAccountID) {
		problems = append(problems, errors.New("VENDOR_ACCOUNT_ID: required, a 12-digit account ID (the hook topic's account)"))
	}
	if err := v.Validate(); err != nil {
		problems = append(problems, err)
	}
	for _, h := range strings.Split(get("RESPONSE_URL_EXTRA_HOSTS", ""), ",") {
		if h = strings.TrimSpace(h); h != "" {
			c.ResponseHosts = append(c.ResponseHosts, h)
		}
	}
	thumbprints, err := gateway.ParseThumbprints(get("ISSUER_THUMBPRINTS", ""))
	if err != nil {
		problems = append(problems, fmt.Errorf("ISSUER_THUMBPRINTS: %w", err))
	}
	c.Thumbprints = thumbprints
	c.SignerRoleARN = get("SIGNER_ROLE_ARN", "")
	if c.SignerRoleARN != "" && !strings.HasPrefix(c.SignerRoleARN, "arn:aws:iam::"+c.VendorAccountID+":role/") {
		problems = append(problems, errors.New("SIGNER_ROLE_ARN: must be a role in VENDOR_ACCOUNT_ID"))
	}
	c.IssuerBucket = get("ISSUER_BUCKET", "")
	if c.SignerRoleARN != "" && !bucketName.MatchString(c.IssuerBucket) {
		problems = append(problems, errors.New("ISSUER_BUCKET: required with SIGNER_ROLE_ARN, an S3 bucket name (the issuer hosts' origin): "+
			"a gateway role is proven with a token STS verifies against the documents published there"))
	}
	for _, p := range strings.Split(get("PARTITIONS", "aws"), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		} else if !partitionName.MatchString(p) {
			problems = append(problems, fmt.Errorf("PARTITIONS: %q is not a partition name such as aws or aws-us-gov", p))
		} else {
			c.Partitions = append(c.Partitions, p)
		}
	}
	if len(c.Partitions) == 0 {
		problems = append(problems, errors.New("PARTITIONS: at least one partition, such as aws"))
	}
	for _, r := range strings.Split(get("REGIONS", "us-east-1"), ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		} else if !regionName.MatchString(r) {
			problems = append(problems, fmt.Errorf("REGIONS: %q is not a region name such as us-east-1", r))
		} else {
			c.Regions = append(c.Regions, r)
		}
	}
	if len(c.Regions) == 0 {
		problems = append(problems, errors.New("REGIONS: at least one region, such as us-east-1"))
	}
	paces, pp := hook.PacesFromEnv(getenv)
	c.Paces, problems = paces, append(problems, pp...)
	probe, err := strconv.ParseBool(get("PROBE_WITHOUT_EXTERNAL_ID", "true"))
	if err != nil {
		problems = append(problems, errors.New("PROBE_WITHOUT_EXTERNAL_ID: want true or false"))
	}
	c.ProbeWithoutExternal = probe
	if err := c.LogLevel.UnmarshalText([]byte(get("LOG_LEVEL", "INFO"))); err != nil {
		problems = append(problems, errors.New("LOG_LEVEL: want DEBUG, INFO, WARN or ERROR"))
	}
	if err := errors.Join(problems...); err != nil {
		return config{}, fmt.Errorf("hook configuration:\n%w", err)
	}
	return c, nil
}
