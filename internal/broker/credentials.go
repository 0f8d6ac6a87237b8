package broker

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

// Credentials gives the requester of an approved request a session in the account's support role:
// a token minted for that account, exchanged with sts:AssumeRoleWithWebIdentity under the session
// policy, for min(the approved window left, MaxSession). Nothing is issued on any refusal. The
// token's and the session's audit events are written only while the request is still approved (a
// condition in the same transaction), so a revocation recorded before the session is handed out
// wins: the credentials STS returned are dropped (ErrConflict) and the refusal names the session.
func (b *Broker) Credentials(ctx context.Context, engineer, id string) (Credentials, error) {
	ev := Event{Action: "credentials", Actor: engineer, Engineer: engineer, RequestID: id}
	invalid := validatePrincipal(engineer) // answered whether or not the request exists
	r, found, err := b.getRequest(ctx, id)
	if err != nil {
		return Credentials{}, err
	}
	if found {
		ev.Account, ev.Ticket, ev.Tenant = r.Account, r.Ticket, r.Tenant
	}
	if invalid != nil {
		return Credentials{}, b.refused(ctx, invalid, ev)
	}
	if !found {
		return Credentials{}, b.refused(ctx, noRequest(id), ev)
	}
	creds, err := b.credentials(ctx, engineer, r, &ev)
	if err != nil {
		return Credentials{}, b.refused(ctx, err, ev)
	}
	return creds, nil
}

// credentials issues the session; on a refusal after STS opened one, it adds the session's details
// (never its secrets) to ev, the refusal's event.
func (b *Broker) credentials(ctx context.Context, engineer string, r Request, ev *Event) (Credentials, error) {
	if engineer != r.Engineer { // someone else's request is as good as none: no requester's name, no tenant's request
		return Credentials{}, &Refusal{Kind: ErrNotFound, Reason: noRequest(r.ID).Error(),
			Detail: fmt.Sprintf("request %s is %s's: only the requester gets its credentials", r.ID, r.Engineer)}
	}
	now := b.clock()
	if err := checkState(r, now, "get credentials for", []State{Approved}); err != nil {
		if r.Status(now) == Pending {
			return Credentials{}, refuse(ErrConflict, "request %s is waiting for the customer's approval", r.ID)
		}
		return Credentials{}, err
	}
	left := r.AccessUntil.Sub(now)
	if left < MinSession {
		return Credentials{}, refuse(ErrConflict, "request %s has %s of its window left, less than the shortest session (%s): request access again", r.ID, left, MinSession)
	}
	session := min(left, MaxSession)

	o, err := b.active(ctx, r.Account)
	if err != nil {
		return Credentials{}, err
	}
	if o.Tenant != r.Tenant {
		return Credentials{}, noAccount(r.Account, "account %s changed hands (tenant %q, then %q) since request %s was approved", r.Account, r.Tenant, o.Tenant, r.ID)
	}
	name, err := SessionName(engineer, r.Ticket)
	if err != nil { // a request stored before tickets were limited
		return Credentials{}, refuse(ErrConflict, "request %s cannot name a session: %v: request access again with a ticket that fits", r.ID, err)
	}
	target := policy.Target{Partition: b.cfg.Partition, AccountID: r.Account}
	roleARN := b.supportRole(o, target)
	sessionPolicy := policy.NewSessionPolicy(target, policy.Features{Runbooks: o.Runbooks, Diagnostic: o.DiagnosticTool})

	token, err := b.mint.Mint(ctx, r.Account, issuer.Claims{Host: b.cfg.IssuerHost, Engineer: engineer,
		Environment: b.cfg.Environment, Lifetime: b.cfg.TokenLifetime})
	if err != nil {
		return Credentials{}, fmt.Errorf("minting a token for %s: %w", r.Account, err)
	}
	claims, err := readClaims(token)
	if err != nil {
		return Credentials{}, err
	}
	// the token must be good for this account only: its issuer and audience are the account's
	if want := b.cfg.Vendor.IssuerURL(target, b.cfg.IssuerHost); claims.Iss != want {
		return Credentials{}, fmt.Errorf("the token minted for %s names issuer %q, want %q: not used", r.Account, claims.Iss, want)
	}
	if want := b.cfg.Vendor.Audience(target); claims.Aud != want {
		return Credentials{}, fmt.Errorf("the token minted for %s names audience %q, want %q: not used", r.Account, claims.Aud, want)
	}
	if !b.cfg.Vendor.ValidSubject(claims.Sub) {
		return Credentials{}, fmt.Errorf("the token minted for %s has sub %q, not an engineer identifier the trust policies admit: not used", r.Account, claims.Sub)
	}
	// Subject is what the customer's CloudTrail shows for the AssumeRoleWithWebIdentity call
	// (userIdentity.userName); the audit maps it back to the engineer.
	base := Event{Actor: engineer, Tenant: r.Tenant, Engineer: engineer, Account: r.Account, RequestID: r.ID, Ticket: r.Ticket, RoleARN: roleARN,
		Subject: claims.Sub}
	minted := base
	minted.Type, minted.TokenID, minted.TokenExpiry = EventTokenMinted, claims.Jti, time.Unix(claims.Exp, 0).UTC()
	// recorded only while the request is still approved: a revocation that landed since it was
	// read stops the session before STS opens it
	if err := b.recordIfApproved(ctx, r, minted); err != nil {
		return Credentials{}, err
	}

	out, err := b.sts.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(roleARN),
		RoleSessionName:  aws.String(name),
		WebIdentityToken: aws.String(token),
		DurationSeconds:  aws.Int32(int32(session / time.Second)),
		Policy:           aws.String(sessionPolicy.Inline.JSON()),
		PolicyArns:       policyARNs(sessionPolicy.ManagedARNs),
	})
	if err != nil {
		return Credentials{}, fmt.Errorf("assuming %s for request %s: %w", roleARN, r.ID, err)
	}
	if out.Credentials == nil {
		return Credentials{}, fmt.Errorf("assuming %s for request %s: STS returned no credentials", roleARN, r.ID)
	}
	b.warnIfNearlyFull(ctx, out, r, roleARN)
	c := Credentials{
		AccessKeyID:     aws.ToString(out.Credentials.AccessKeyId),
		SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey),
		SessionToken:    aws.ToString(out.Credentials.SessionToken),
		Expiration:      aws.ToTime(out.Credentials.Expiration).UTC(),
		RoleARN:         roleARN,
		SessionName:     name,
	}
	if out.AssumedRoleUser != nil {
		c.AssumedRoleARN = aws.ToString(out.AssumedRoleUser.Arn)
	}
	issued := base
	issued.Type, issued.SessionName, issued.AccessKeyLast, issued.SessionExpiry = EventSession, name, last4(c.AccessKeyID), c.Expiration
	issued.DurationSeconds = int64(session / time.Second)
	// fail closed: a session the log does not show is not handed out, nor one whose request was
	// revoked (or ran out) while STS opened it; the refusal records the session STS opened
	if err := b.recordIfApproved(ctx, r, issued); err != nil {
		ev.RoleARN, ev.Subject, ev.SessionName, ev.AccessKeyLast, ev.SessionExpiry = roleARN, claims.Sub, name, issued.AccessKeyLast, c.Expiration
		if isRefusal(err) {
			err = refuse(ErrConflict, "%s; the session STS opened for it was not handed out", err)
		}
		return Credentials{}, err
	}
	return c, nil
}

// recordIfApproved records e in one transaction with the condition that request r is still
// approved and inside its window at this moment. If it no longer is (revoked, or its window over,
// since it was read), nothing is recorded and the refusal says why.
func (b *Broker) recordIfApproved(ctx context.Context, r Request, e Event) error {
	now := b.clock()
	check, err := b.store.stillApproved(r.ID, now)
	if err != nil {
		return err
	}
	err = b.audit.record(ctx, []types.TransactWriteItem{check}, e)
	if !isStale(err) {
		return err
	}
	cur, found, err := b.store.getRequest(ctx, r.ID)
	if err != nil {
		return err
	}
	if !found {
		return noRequest(r.ID)
	}
	if err := checkState(cur, now, "get credentials for", []State{Approved}); err != nil {
		return err
	}
	return refuse(ErrConflict, "request %s changed while its session was being issued; try again", r.ID)
}

// warnIfNearlyFull logs one warning when STS says the session's packed policies and tags
// (PackedPolicySize, a percentage), or its session token (SessionTokenUtilization, which the SDK
// marks as PackedPolicySize's successor), use more than PackedSizeWarnPercent of what STS allows:
// growth shows before STS refuses sessions. The line names the request and the role, never a
// token or a key.
func (b *Broker) warnIfNearlyFull(ctx context.Context, out *sts.AssumeRoleWithWebIdentityOutput, r Request, roleARN string) {
	packed, token := out.PackedPolicySize, out.SessionTokenUtilization
	over := func(p *int32) bool { return p != nil && *p > PackedSizeWarnPercent }
	if !over(packed) && !over(token) {
		return
	}
	attrs := []any{"account", r.Account, "request", r.ID, "role", roleARN}
	if packed != nil {
		attrs = append(attrs, "packedPolicySize", *packed)
	}
	if token != nil {
		attrs = append(attrs, "sessionTokenUtilization", *token)
	}
	b.cfg.Logger.WarnContext(ctx, "session policies and tags near STS's size limit", attrs...)
}

// supportRole is the role sessions use: the gateway template's (its ARN as registered), or the
// role the vendor provisions through the management stack.
func (b *Broker) supportRole(o registry.Onboarding, t policy.Target) string {
	if o.Kind == registry.Gateway {
		if o.RoleARN != "" {
			return o.RoleARN
		}
		return b.cfg.Vendor.GatewayRoleARN(t)
	}
	return b.cfg.Vendor.SupportRoleARN(t)
}

func policyARNs(arns []string) []ststypes.PolicyDescriptorType {
	out := make([]ststypes.PolicyDescriptorType, 0, len(arns))
	for _, a := range arns {
		out = append(out, ststypes.PolicyDescriptorType{Arn: aws.String(a)})
	}
	return out
}

func last4(s string) string {
	if len(s) <= 4 {
		return s
	}
	return s[len(s)-4:]
}

// tokenClaims are the minted token's claims the broker checks and records.
type tokenClaims struct {
	Iss string `json:"iss"`
	Aud string `json:"aud"`
	Sub string `json:"sub"`
	Exp int64  `json:"exp"`
	Jti string `json:"jti"`
}

// readClaims decodes the payload of a compact JWS the broker's own issuer just signed (the
// signature is STS's to check).
func readClaims(token string) (tokenClaims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return tokenClaims{}, fmt.Errorf("the minted token is not a compact JWS")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return tokenClaims{}, fmt.Errorf("decoding the minted token: %w", err)
	}
	var c tokenClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return tokenClaims{}, fmt.Errorf("decoding the minted token's claims: %w", err)
	}
	return c, nil
}
