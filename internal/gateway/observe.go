package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/supportaccess/gateway/internal/awsx"
)

// Observe reads what the account holds at the desired ARNs, with independent reads concurrent: two
// round trips (the policy's version documents need its version list).
func Observe(ctx context.Context, c IAMAPI, d Desired) (Observed, error) {
	return observe(ctx, c, d, &group{})
}

func observe(ctx context.Context, c IAMAPI, d Desired, wg *group) (Observed, error) {
	o := Observed{Providers: map[string]*ObservedProvider{}}
	var mu sync.Mutex
	var errs []error
	run := func(what string, f func() error) {
		wg.Go(func() {
			if err := f(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("reading %s: %w", what, err))
				mu.Unlock()
			}
		})
	}
	for _, p := range d.Providers {
		run(p.ARN, func() error {
			out, err := c.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(p.ARN)})
			if awsx.IsNotFound(err) {
				return nil
			}
			if err != nil {
				return err
			}
			mu.Lock()
			o.Providers[p.ARN] = &ObservedProvider{ClientIDs: out.ClientIDList, Thumbprints: out.ThumbprintList, Tags: tagMap(out.Tags)}
			mu.Unlock()
			return nil
		})
	}
	var role ObservedRole
	var roleFound bool
	name := aws.String(d.Role.Name)
	run(d.Role.ARN, func() error {
		out, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: name})
		if awsx.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if got := aws.ToString(out.Role.Arn); got != d.Role.ARN {
			// Same name on another path: not the vendor's role, and IAM role names are unique.
			return fmt.Errorf("a role named %s already exists as %s: rename or delete it", d.Role.Name, got)
		}
		trust, err := parseStoredDocument(aws.ToString(out.Role.AssumeRolePolicyDocument))
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		roleFound = true
		role.Trust, role.Description, role.Tags = trust, aws.ToString(out.Role.Description), tagMap(out.Role.Tags)
		role.MaxSessionDuration = aws.ToInt32(out.Role.MaxSessionDuration)
		if b := out.Role.PermissionsBoundary; b != nil {
			role.Boundary = aws.ToString(b.PermissionsBoundaryArn)
		}
		return nil
	})
	run(d.Role.ARN+" attachments", func() error {
		p := iam.NewListAttachedRolePoliciesPaginator(c, &iam.ListAttachedRolePoliciesInput{RoleName: name})
		return eachPage(ctx, p, func(page *iam.ListAttachedRolePoliciesOutput) {
			mu.Lock()
			defer mu.Unlock()
			for _, a := range page.AttachedPolicies {
				role.Attached = append(role.Attached, aws.ToString(a.PolicyArn))
			}
		})
	})
	run(d.Role.ARN+" inline policies", func() error {
		p := iam.NewListRolePoliciesPaginator(c, &iam.ListRolePoliciesInput{RoleName: name})
		return eachPage(ctx, p, func(page *iam.ListRolePoliciesOutput) {
			mu.Lock()
			defer mu.Unlock()
			role.Inline = append(role.Inline, page.PolicyNames...)
		})
	})
	run(d.Policy.ARN, func() error {
		p, err := observePolicy(ctx, c, d.Policy.ARN, &group{sequential: wg.sequential})
		mu.Lock()
		o.Policy = p
		mu.Unlock()
		return err
	})
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Observed{}, err
	}
	if roleFound {
		slices.Sort(role.Attached)
		o.Role = &role
	}
	return o, nil
}

// observePolicy reads the policy, its versions and every version's document (to reuse a stored
// version instead of creating one).
func observePolicy(ctx context.Context, c IAMAPI, arn string, wg *group) (*ObservedPolicy, error) {
	var (
		got      *iam.GetPolicyOutput
		versions *iam.ListPolicyVersionsOutput
		gErr     error
		vErr     error
	)
	wg.Go(func() { got, gErr = c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)}) })
	wg.Go(func() {
		versions, vErr = c.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: aws.String(arn)})
	})
	wg.Wait()
	if awsx.IsNotFound(gErr) || awsx.IsNotFound(vErr) {
		return nil, nil
	}
	if err := errors.Join(gErr, vErr); err != nil {
		return nil, err
	}
	p := &ObservedPolicy{DefaultVersion: aws.ToString(got.Policy.DefaultVersionId), Tags: tagMap(got.Policy.Tags),
		Attachments: int(aws.ToInt32(got.Policy.AttachmentCount))}
	p.Versions = make([]PolicyVersion, len(versions.Versions))
	errs := make([]error, len(versions.Versions))
	for i, v := range versions.Versions {
		p.Versions[i] = PolicyVersion{ID: aws.ToString(v.VersionId), Default: v.IsDefaultVersion}
		wg.Go(func() {
			out, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: v.VersionId})
			if err != nil {
				errs[i] = err
				return
			}
			doc, err := parseStoredDocument(aws.ToString(out.PolicyVersion.Document))
			errs[i] = err
			p.Versions[i].Document = &doc
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// Oldest first: IAM numbers versions v1, v2, …
	slices.SortFunc(p.Versions, func(a, b PolicyVersion) int { return versionNumber(a.ID) - versionNumber(b.ID) })
	for _, v := range p.Versions {
		if v.Default && v.Document != nil {
			p.Document = *v.Document
		}
	}
	return p, nil
}

func versionNumber(id string) int {
	n := 0
	_, _ = fmt.Sscanf(strings.TrimPrefix(id, "v"), "%d", &n)
	return n
}

// group runs tasks concurrently, or one after another when sequential (only to measure what the
// concurrency buys: see Reconciler.Sequential).
type group struct {
	sequential bool
	wg         sync.WaitGroup
}

func (g *group) Go(f func()) {
	if g.sequential {
		f()
		return
	}
	g.wg.Go(f)
}

func (g *group) Wait() { g.wg.Wait() }

// pager is an IAM list paginator returning pages of type O.
type pager[O any] interface {
	HasMorePages() bool
	NextPage(ctx context.Context, optFns ...func(*iam.Options)) (O, error)
}

// eachPage hands every page of p to each. NotFound (the role is gone) ends the listing without an
// error: what was read so far is what there is.
func eachPage[O any](ctx context.Context, p pager[O], each func(O)) error {
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if awsx.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		each(page)
	}
	return nil
}
