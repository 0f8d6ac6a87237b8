package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/supportaccess/gateway/internal/awsx"
	"github.com/supportaccess/gateway/test/cfntemplate"
)

// createResource creates one resource of s from its template properties and records its Ref and
// attributes in s.vars.
func (a *AWS) createResource(ctx context.Context, s *Stack, id, typ string, raw any) error {
	resolved, err := cfntemplate.Resolve(raw, s.vars)
	if err != nil {
		return err
	}
	m, _ := resolved.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	r := &resource{logicalID: id, typ: typ, props: m}
	if strings.HasPrefix(typ, "Custom::") || typ == "AWS::CloudFormation::CustomResource" {
		return a.createCustom(ctx, s, r)
	}
	cfg, err := a.Account(ctx, s.Account)
	if err != nil {
		return err
	}
	c := iam.NewFromConfig(cfg)
	p := &props{m: m, used: map[string]bool{}}
	var attrs map[string]string
	switch typ {
	case "AWS::IAM::ManagedPolicy":
		attrs, err = createManagedPolicy(ctx, c, s, r, p)
	case "AWS::IAM::Role":
		attrs, err = createRole(ctx, c, s, r, p)
	case "AWS::IAM::Policy":
		attrs, err = createInlinePolicy(ctx, c, s, r, p)
	case "AWS::IAM::OIDCProvider":
		attrs, err = createProvider(ctx, c, r, p)
	default:
		return fmt.Errorf("resource type %s is not simulated", typ)
	}
	if r.physicalID != "" {
		s.resources = append(s.resources, r) // created, if only in part: the rollback deletes it
	}
	if err != nil {
		return err
	}
	s.vars[id] = r.physicalID
	for k, v := range attrs {
		s.vars[id+"."+k] = v
	}
	return nil
}

// deleteResource deletes one resource of s; one already gone counts as deleted.
func (a *AWS) deleteResource(ctx context.Context, s *Stack, r *resource) error {
	if strings.HasPrefix(r.typ, "Custom::") || r.typ == "AWS::CloudFormation::CustomResource" {
		return a.deleteCustom(ctx, s, r)
	}
	cfg, err := a.Account(ctx, s.Account)
	if err != nil {
		return err
	}
	c := iam.NewFromConfig(cfg)
	p := &props{m: r.props, used: map[string]bool{}}
	switch r.typ {
	case "AWS::IAM::ManagedPolicy":
		err = deleteManagedPolicy(ctx, c, r.physicalID)
	case "AWS::IAM::Role":
		err = deleteRole(ctx, c, r.physicalID, p)
	case "AWS::IAM::Policy":
		for _, role := range p.strings("Roles") {
			_, e := c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(p.str("PolicyName"))})
			err = errors.Join(err, gone(e))
		}
	case "AWS::IAM::OIDCProvider":
		_, err = c.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(r.physicalID)})
		err = gone(err)
	}
	return err
}

// gone makes NoSuchEntity a success: CloudFormation's deletes do.
func gone(err error) error {
	if awsx.IsNotFound(err) {
		return nil
	}
	return err
}

// createCustom sends the custom resource's Create to its ServiceToken; a FAILED answer fails it.
func (a *AWS) createCustom(ctx context.Context, s *Stack, r *resource) error {
	r.props = cfntemplate.Stringify(r.props).(map[string]any) // custom resources get strings
	token, _ := r.props["ServiceToken"].(string)
	res, err := a.Send(ctx, Request{RequestType: "Create", StackID: s.ID, ResourceType: r.typ, LogicalResourceID: r.logicalID,
		ServiceToken: token, ResourceProperties: r.props})
	if err != nil {
		return err
	}
	if res.Status != "SUCCESS" {
		if res.PhysicalResourceID != "" { // CloudFormation sends the rollback's Delete with the ID the answer gave
			r.physicalID = res.PhysicalResourceID
			s.resources = append(s.resources, r)
		}
		return fmt.Errorf("the custom resource answered %s: %s", res.Status, res.Reason)
	}
	r.physicalID = res.PhysicalResourceID
	s.resources = append(s.resources, r)
	s.Hook = &res
	s.vars[r.logicalID] = r.physicalID
	for k, v := range res.Data {
		s.vars[r.logicalID+"."+k] = v
	}
	return nil
}

// deleteCustom sends the custom resource's Delete; anything but SUCCESS fails the stack's deletion.
func (a *AWS) deleteCustom(ctx context.Context, s *Stack, r *resource) error {
	token, _ := r.props["ServiceToken"].(string)
	res, err := a.Send(ctx, Request{RequestType: "Delete", StackID: s.ID, ResourceType: r.typ, LogicalResourceID: r.logicalID,
		PhysicalResourceID: r.physicalID, ServiceToken: token, ResourceProperties: r.props})
	if err != nil {
		return err
	}
	if res.Status != "SUCCESS" {
		return fmt.Errorf("the custom resource answered %s: %s", res.Status, res.Reason)
	}
	return nil
}

// document is a policy document property as IAM takes it: JSON text (a template's object is
// marshalled; a Fn::Sub of JSON text is taken as it is).
func document(p *props, name string) (*string, error) {
	p.used[name] = true
	switch v := p.m[name].(type) {
	case string:
		return aws.String(v), nil
	case map[string]any:
		b, err := json.Marshal(v)
		return aws.String(string(b)), err
	}
	return nil, fmt.Errorf("property %s: want a policy document, got %T", name, p.m[name])
}

func tags(p *props) []iamtypes.Tag {
	var out []iamtypes.Tag
	for _, t := range p.list("Tags") {
		kv, _ := t.(map[string]any)
		out = append(out, iamtypes.Tag{Key: aws.String(fmt.Sprint(kv["Key"])), Value: aws.String(fmt.Sprint(kv["Value"]))})
	}
	return out
}

func createManagedPolicy(ctx context.Context, c *iam.Client, s *Stack, r *resource, p *props) (map[string]string, error) {
	doc, err := document(p, "PolicyDocument")
	if err != nil {
		return nil, err
	}
	name := p.str("ManagedPolicyName")
	if name == "" {
		name = joined(s, r.logicalID)
	}
	in := &iam.CreatePolicyInput{PolicyName: aws.String(name), PolicyDocument: doc}
	if d := p.str("Description"); d != "" {
		in.Description = aws.String(d)
	}
	if path := p.str("Path"); path != "" {
		in.Path = aws.String(path)
	}
	if err := p.done(r.typ); err != nil {
		return nil, err
	}
	out, err := c.CreatePolicy(ctx, in)
	if err != nil {
		return nil, err
	}
	r.physicalID = aws.ToString(out.Policy.Arn) // Ref of a managed policy is its ARN
	return map[string]string{"PolicyArn": r.physicalID}, nil
}

func deleteManagedPolicy(ctx context.Context, c *iam.Client, arn string) error {
	versions, err := c.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: aws.String(arn)})
	if err != nil {
		return gone(err)
	}
	for _, v := range versions.Versions {
		if !v.IsDefaultVersion {
			if _, err := c.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: aws.String(arn), VersionId: v.VersionId}); gone(err) != nil {
				return err
			}
		}
	}
	_, err = c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(arn)})
	return gone(err)
}

func createRole(ctx context.Context, c *iam.Client, s *Stack, r *resource, p *props) (map[string]string, error) {
	trust, err := document(p, "AssumeRolePolicyDocument")
	if err != nil {
		return nil, err
	}
	name := p.str("RoleName")
	if name == "" {
		name = joined(s, r.logicalID)
	}
	in := &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: trust, Tags: tags(p)}
	if d := p.str("Description"); d != "" {
		in.Description = aws.String(d)
	}
	if path := p.str("Path"); path != "" {
		in.Path = aws.String(path)
	}
	if b := p.str("PermissionsBoundary"); b != "" {
		in.PermissionsBoundary = aws.String(b)
	}
	if d := p.str("MaxSessionDuration"); d != "" {
		n, err := strconv.ParseInt(d, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("property MaxSessionDuration: %w", err)
		}
		in.MaxSessionDuration = aws.Int32(int32(n))
	}
	type inline struct {
		name string
		doc  *string
	}
	var inlines []inline
	for _, e := range p.list("Policies") {
		m, _ := e.(map[string]any)
		ip := &props{m: m, used: map[string]bool{}}
		doc, err := document(ip, "PolicyDocument")
		if err != nil {
			return nil, fmt.Errorf("property Policies: %w", err)
		}
		inlines = append(inlines, inline{ip.str("PolicyName"), doc})
		if err := ip.done("a role's inline policy"); err != nil {
			return nil, err
		}
	}
	managed := p.strings("ManagedPolicyArns")
	if err := p.done(r.typ); err != nil {
		return nil, err
	}
	out, err := c.CreateRole(ctx, in)
	if err != nil {
		return nil, err
	}
	r.physicalID = name // Ref of a role is its name
	attrs := map[string]string{"Arn": aws.ToString(out.Role.Arn), "RoleId": aws.ToString(out.Role.RoleId)}
	for _, ip := range inlines {
		if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(ip.name), PolicyDocument: ip.doc}); err != nil {
			return nil, fmt.Errorf("inline policy %s: %w", ip.name, err)
		}
	}
	for _, arn := range managed {
		if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String(arn)}); err != nil {
			return nil, fmt.Errorf("attaching %s: %w", arn, err)
		}
	}
	return attrs, nil
}

// deleteRole detaches the managed policies and deletes the inline policies the template gave the
// role, then the role; anything else on it (someone else's policy) makes the delete fail, as in AWS.
func deleteRole(ctx context.Context, c *iam.Client, name string, p *props) error {
	for _, arn := range p.strings("ManagedPolicyArns") {
		if _, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String(arn)}); gone(err) != nil {
			return err
		}
	}
	for _, e := range p.list("Policies") {
		m, _ := e.(map[string]any)
		if _, err := c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(fmt.Sprint(m["PolicyName"]))}); gone(err) != nil {
			return err
		}
	}
	_, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(name)})
	return gone(err)
}

func createInlinePolicy(ctx context.Context, c *iam.Client, s *Stack, r *resource, p *props) (map[string]string, error) {
	doc, err := document(p, "PolicyDocument")
	if err != nil {
		return nil, err
	}
	name, roles := p.str("PolicyName"), p.strings("Roles")
	if err := p.done(r.typ); err != nil {
		return nil, err
	}
	r.physicalID = joined(s, r.logicalID) // Ref of AWS::IAM::Policy is an ID of CloudFormation's
	for _, role := range roles {
		if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(name), PolicyDocument: doc}); err != nil {
			return nil, fmt.Errorf("on role %s: %w", role, err)
		}
	}
	return nil, nil
}

func createProvider(ctx context.Context, c *iam.Client, r *resource, p *props) (map[string]string, error) {
	in := &iam.CreateOpenIDConnectProviderInput{Url: aws.String(p.str("Url")), ClientIDList: p.strings("ClientIdList"),
		ThumbprintList: p.strings("ThumbprintList"), Tags: tags(p)}
	if err := p.done(r.typ); err != nil {
		return nil, err
	}
	out, err := c.CreateOpenIDConnectProvider(ctx, in)
	if err != nil {
		return nil, err
	}
	r.physicalID = aws.ToString(out.OpenIDConnectProviderArn) // Ref of a provider is its ARN
	return map[string]string{"Arn": r.physicalID}, nil
}
