package issuer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// STS fetches an account's discovery document and JWKS from the issuer host when it verifies a
// token ("Create an OpenID Connect (OIDC) identity provider in IAM": IAM retrieves the JWKS from the
// jwks_uri of the provider's discovery document). So an account's documents must be where its
// identity providers point before any token for it is minted: the issuer publishes them whenever
// its keys change (CreateAccountKey, Rotate), withdraws them at offboarding, and, when a Publisher
// is configured, signs only with keys it has published.

// Document is one issuer document, at the path under which it is served: "<host>/accounts/
// <account>/.well-known/openid-configuration" or ".../jwks.json" (the URL without "https://").
type Document struct {
	Path   string
	Body   []byte
	MaxAge int // seconds a cache may keep it
}

// Publisher puts an account's documents where its identity providers fetch them, and takes them
// away. Both must be idempotent.
type Publisher interface {
	Publish(ctx context.Context, docs []Document) error
	Unpublish(ctx context.Context, paths []string) error
}

// Documents returns the account's discovery document and JWKS on every issuer host, as Handler
// serves them.
func (i *Issuer) Documents(ctx context.Context, account string) ([]Document, error) {
	set, err := i.JWKS(ctx, account)
	if err != nil {
		return nil, err
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("encoding the JWKS of %s: %w", account, err)
	}
	var docs []Document
	for host := range i.vendor.IssuerHosts {
		d, err := i.Discovery(account, host)
		if err != nil {
			return nil, err
		}
		body, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("encoding the discovery document of %s: %w", account, err)
		}
		base := i.documentBase(account, host)
		docs = append(docs,
			Document{Path: path.Join(base, discoveryPath), Body: body, MaxAge: DiscoveryMaxAge},
			Document{Path: path.Join(base, jwksPath), Body: jwks, MaxAge: JWKSMaxAge})
	}
	return docs, nil
}

// documentBase is "<host>/accounts/<account>": the issuer URL without its scheme.
func (i *Issuer) documentBase(account string, host int) string {
	return path.Join(i.vendor.IssuerHosts[host], "accounts", account)
}

// documentPaths are the paths of every document of the account.
func (i *Issuer) documentPaths(account string) []string {
	var paths []string
	for host := range i.vendor.IssuerHosts {
		base := i.documentBase(account, host)
		paths = append(paths, path.Join(base, discoveryPath), path.Join(base, jwksPath))
	}
	return paths
}

// Publish publishes the account's documents and records, on every key they list, that it is
// published. Without a Publisher it does nothing.
func (i *Issuer) Publish(ctx context.Context, account string) error {
	if i.publisher == nil {
		return nil
	}
	keys, err := i.accountKeys(ctx, account)
	if err != nil {
		return err
	}
	docs, err := i.Documents(ctx, account)
	if err != nil {
		return err
	}
	if err := i.publisher.Publish(ctx, docs); err != nil {
		return fmt.Errorf("publishing the documents of account %s: %w", account, err)
	}
	now := i.Now().UTC()
	for _, k := range keys {
		if k.Published(now) && k.PublishedAt.IsZero() {
			k.PublishedAt = now
			if err := i.store.Put(ctx, k); err != nil {
				return fmt.Errorf("recording that key %s is published: %w", k.KeyID, err)
			}
		}
	}
	return nil
}

// S3API is the part of S3 the S3Publisher uses.
type S3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

var _ S3API = (*s3.Client)(nil)

// S3Publisher publishes documents as objects of one bucket, keyed by their path, the layout
// RenderStatic writes: each issuer host is a CloudFront distribution whose origin is the bucket with
// the origin path "/<host>".
type S3Publisher struct {
	S3     S3API
	Bucket string
}

var _ Publisher = (*S3Publisher)(nil)

// Publish puts every document, as JSON with its cache lifetime.
func (p *S3Publisher) Publish(ctx context.Context, docs []Document) error {
	var errs []error
	for _, d := range docs {
		_, err := p.S3.PutObject(ctx, &s3.PutObjectInput{
			Bucket:       aws.String(p.Bucket),
			Key:          aws.String(d.Path),
			Body:         bytes.NewReader(d.Body),
			ContentType:  aws.String("application/json"),
			CacheControl: aws.String("public, max-age=" + strconv.Itoa(d.MaxAge)),
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("putting s3://%s/%s: %w", p.Bucket, d.Path, err))
		}
	}
	return errors.Join(errs...)
}

// Unpublish deletes the documents (deleting an absent object succeeds).
func (p *S3Publisher) Unpublish(ctx context.Context, paths []string) error {
	var errs []error
	for _, key := range paths {
		if _, err := p.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(p.Bucket), Key: aws.String(key)}); err != nil {
			errs = append(errs, fmt.Errorf("deleting s3://%s/%s: %w", p.Bucket, key, err))
		}
	}
	return errors.Join(errs...)
}
