package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/supportaccess/gateway/internal/registry"
)

// envVar is a variable a command reads, as its help lists it.
type envVar struct{ name, about string }

// The variables several commands read.
var (
	awsEnv = envVar{"AWS_REGION, AWS_PROFILE, …", "AWS credentials and region from the SDK's standard sources (AWS_ENDPOINT_URL for a stand-in such as moto)"}
	regEnv = envVar{"REGISTRY_TABLE", "the registry's DynamoDB table (required), e.g. onboardings"}
	apiEnv = []envVar{
		{"SUPPORT_API_URL", "the backend's API (required): https, or http on a loopback address, e.g. http://127.0.0.1:8080"},
		{"SUPPORTCTL_TOKEN_FILE", "the token supportctl login cached (default $XDG_CONFIG_HOME/supportctl/token.json or ~/.config/supportctl/token.json)"},
	}
)

// environment reads a command's variables, checking each as it is read; every problem names its
// variable and says what is wrong with it.
type environment struct {
	getenv   func(string) string
	cmd      *command
	problems []error
}

func newEnv(x *invocation, cmd *command) *environment {
	return &environment{getenv: x.getenv, cmd: cmd}
}

// get is a variable that may be unset.
func (e *environment) get(name string) string { return e.getenv(name) }

func (e *environment) add(err error) { e.problems = append(e.problems, err) }

// need is a variable that must be set; what says what it holds.
func (e *environment) need(name, what string) string {
	v := e.getenv(name)
	if v == "" {
		e.add(fmt.Errorf("%s is not set: %s", name, what))
	}
	return v
}

// check is a variable checked by fn when it is set.
func (e *environment) check(name string, fn func(string) error) string {
	v := e.getenv(name)
	if v != "" {
		if err := fn(v); err != nil {
			e.add(fmt.Errorf("%s=%s: %w", name, shown(v), err))
		}
	}
	return v
}

// accountID is a variable holding an AWS account ID: 12 digits.
func (e *environment) accountID(name, what string, req bool) string {
	if req && e.getenv(name) == "" {
		return e.need(name, what+", 12 digits")
	}
	return e.check(name, func(v string) error {
		if !twelveDigits.MatchString(v) {
			return fmt.Errorf("not 12 digits (%s, such as 111122223333)", what)
		}
		return nil
	})
}

// bucketName is what S3 accepts as a general purpose bucket's name.
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// tableName is what DynamoDB accepts as a table's name.
var tableName = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)

// table is a variable naming a DynamoDB table (required).
func (e *environment) table(name, what string) string {
	if e.getenv(name) == "" {
		return e.need(name, what)
	}
	return e.check(name, func(v string) error {
		if !tableName.MatchString(v) {
			return errors.New("not a DynamoDB table name (3 to 255 letters, digits, _ . or -)")
		}
		return nil
	})
}

// roleIn is a variable naming an IAM role of account (when it is set).
func (e *environment) roleIn(name, account string) string {
	return e.check(name, func(v string) error {
		if account != "" && twelveDigits.MatchString(account) && !strings.HasPrefix(v, "arn:aws:iam::"+account+":role/") {
			return fmt.Errorf("not a role of VENDOR_ACCOUNT_ID %s (want arn:aws:iam::%s:role/<name>)", account, account)
		}
		if !strings.HasPrefix(v, "arn:aws:iam::") || !strings.Contains(v, ":role/") {
			return errors.New("not an IAM role ARN (want arn:aws:iam::<account>:role/<name>)")
		}
		return nil
	})
}

// oneOf is a variable that takes one of allowed (or is unset).
func (e *environment) oneOf(name string, allowed ...string) string {
	return e.check(name, func(v string) error {
		for _, a := range allowed {
			if v == a {
				return nil
			}
		}
		return fmt.Errorf("give %s", orList(allowed))
	})
}

// httpsURL checks a URL something is fetched from or sent to.
func httpsURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return errors.New("not an https URL")
	}
	return nil
}

// err is every problem found, as one usage error (nil if none).
func (e *environment) err() error {
	if len(e.problems) == 0 {
		return nil
	}
	return &usageError{err: fmt.Errorf("%s: %w", e.cmd.name, errors.Join(e.problems...)), help: e.cmd.path() + " -h"}
}

// registryConfig checks the environment (the registry's table and whatever else e has read), then
// loads the AWS configuration: the operators' commands start here.
func registryConfig(ctx context.Context, e *environment) (aws.Config, *registry.Registry, error) {
	table := e.table("REGISTRY_TABLE", "the registry's DynamoDB table, e.g. onboardings")
	if err := e.err(); err != nil {
		return aws.Config{}, nil, err
	}
	cfg, err := awsConfig(ctx, e)
	if err != nil {
		return aws.Config{}, nil, err
	}
	return cfg, newRegistry(cfg, table), nil
}

// awsConfig loads the SDK's configuration from its standard sources and checks it names a region:
// without one every call would fail with the SDK's "Missing Region".
func awsConfig(ctx context.Context, e *environment) (aws.Config, error) {
	cfg, err := loadAWSConfig(ctx)
	if err != nil {
		return aws.Config{}, err
	}
	if cfg.Region == "" {
		e.add(errors.New("AWS_REGION is not set, nor a region in the AWS profile: set AWS_REGION, e.g. us-east-1"))
		return aws.Config{}, e.err()
	}
	return cfg, nil
}

// countingWriter counts what goes through it, so a command can tell when it printed nothing.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
