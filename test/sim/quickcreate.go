package sim

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Published maps where the vendor publishes each customer template (README, "Publishing the
// templates") to the committed file it is a copy of: the simulation deploys the committed file.
var Published = map[string]string{
	"https://doit-aws-ops-prod-templates.s3.amazonaws.com/doitmanagement.yaml": ManagementTemplate,
	"https://doit-support.s3.amazonaws.com/doit-support.json":                  GatewayTemplate,
}

// QuickCreate is a customer opening a quick-create link in account and clicking "Create stack":
// the link's template (one of Published), stack name and param_* values, the rest defaulted. It
// returns once the stack is created (or has failed) and the hook has finished what it does after
// answering (a gateway role's proof), as a person who then looks at the vendor's console sees it.
func (a *AWS) QuickCreate(ctx context.Context, account, link string) (*Stack, error) {
	in, err := ParseQuickCreate(link)
	if err != nil {
		return nil, err
	}
	in.Account = account
	s, err := a.CreateStack(ctx, in)
	if err != nil {
		return nil, errors.Join(err, a.Settle(ctx))
	}
	return s, a.Settle(ctx)
}

// ParseQuickCreate reads a CloudFormation console quick-create link (its parameters are in the
// fragment, after #/stacks/quickcreate?) into the stack it creates, the account left empty.
func ParseQuickCreate(link string) (StackInput, error) {
	u, err := url.Parse(link)
	if err != nil {
		return StackInput{}, fmt.Errorf("quick-create link: %w", err)
	}
	_, query, ok := strings.Cut(u.Fragment, "/stacks/quickcreate?")
	if !ok {
		return StackInput{}, fmt.Errorf("quick-create link: no #/stacks/quickcreate? in %s", u.Redacted())
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return StackInput{}, fmt.Errorf("quick-create link: %w", err)
	}
	template, ok := Published[q.Get("templateURL")]
	if !ok {
		return StackInput{}, fmt.Errorf("quick-create link: template %q is not one the vendor publishes", q.Get("templateURL"))
	}
	in := StackInput{Name: q.Get("stackName"), Template: template, Parameters: map[string]string{}}
	for k, v := range q {
		if name, ok := strings.CutPrefix(k, "param_"); ok {
			in.Parameters[name] = v[0]
		}
	}
	if in.Name == "" {
		return StackInput{}, fmt.Errorf("quick-create link: no stackName")
	}
	return in, nil
}
