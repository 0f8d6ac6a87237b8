package awscheck_test

import (
	"crypto/sha256"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/internal/policy"
)

// signer is the vendor account's signer role, its session through the front end, and the issuer's
// keys with their key policies.
type signer struct {
	roleARN, sessionARN string
	session             aws.Config
	signingKey          *types.KeyMetadata
	signingAlias        string
	subjectKey          *types.KeyMetadata
}

func newSigner(t *testing.T, e env) signer {
	t.Helper()
	ctx := t.Context()
	name := uniqueName("signer")
	s := signer{roleARN: createRole(t, e.admin, name, "", policy.NewDocument(policy.Statement{
		Effect: policy.Allow, Principal: &policy.Principal{AWS: policy.Strings{backendARN}}, Action: policy.Strings{"sts:AssumeRole"},
	}))}
	out, err := assumeRole(ctx, e.asKey(backendKey), s.roleARN)
	require.NoError(t, err)
	s.session = e.asSession(out)
	s.sessionARN = "arn:aws:sts::" + vendorAccount + ":assumed-role/" + name + "/awscheck-test"

	admin := kms.NewFromConfig(e.admin)
	signing, err := admin.CreateKey(ctx, &kms.CreateKeyInput{
		KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify,
		Policy: aws.String(vendor.SigningKeyPolicy("aws", vendorAccount, s.roleARN).JSON()),
	})
	require.NoError(t, err)
	s.signingKey = signing.KeyMetadata
	s.signingAlias = "alias/" + uniqueName("signing")
	_, err = admin.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(s.signingAlias), TargetKeyId: signing.KeyMetadata.KeyId})
	require.NoError(t, err)
	subject, err := admin.CreateKey(ctx, &kms.CreateKeyInput{
		KeySpec: types.KeySpecHmac256, KeyUsage: types.KeyUsageTypeGenerateVerifyMac,
		Policy: aws.String(vendor.SubjectKeyPolicy("aws", vendorAccount, s.roleARN).JSON()),
	})
	require.NoError(t, err)
	s.subjectKey = subject.KeyMetadata
	return s
}

// bypass is cfg pointed at moto itself.
func (e env) bypass(cfg aws.Config) aws.Config {
	c := cfg.Copy()
	c.BaseEndpoint = aws.String(e.moto.URL())
	return c
}

func TestKMSSign(t *testing.T) {
	e := newEnv(t)
	s := newSigner(t, e)
	keyARN := aws.ToString(s.signingKey.Arn)
	digest := sha256.Sum256([]byte("header.claims"))
	explicit := func(who string) string {
		return "User: " + who + " is not authorized to perform: kms:Sign on resource: " + keyARN + " with an explicit deny in a key policy"
	}
	tests := map[string]struct {
		as          aws.Config
		keyID       string
		messageType types.MessageType
		algorithm   types.SigningAlgorithmSpec
		want        *apiError // nil: admitted
		reason      string
		moto        string // the error code moto alone answers the call with ("": it admits it)
	}{
		"the signer signs a digest": {as: s.session, keyID: aws.ToString(s.signingKey.KeyId), reason: "allowed by statement SignerSignsDigests"},
		"by key ARN":                {as: s.session, keyID: keyARN, reason: "allowed by statement SignerSignsDigests"},
		"by alias":                  {as: s.session, keyID: s.signingAlias, reason: "allowed by statement SignerSignsDigests"},
		"by alias ARN": {as: s.session, keyID: "arn:aws:kms:us-east-1:" + vendorAccount + ":" + s.signingAlias,
			reason: "allowed by statement SignerSignsDigests"},
		"another role of the vendor": {as: e.asKey(backendKey), keyID: keyARN,
			want: &apiError{400, "AccessDeniedException", explicit(backendARN)}, reason: "explicit deny in statement DenySignByOthers"},
		"the signer signs a raw message": {as: s.session, keyID: keyARN, messageType: types.MessageTypeRaw,
			want: &apiError{400, "AccessDeniedException", explicit(s.sessionARN)}, reason: "explicit deny in statement DenyRawMessages"},
		"the signer without MessageType (RAW)": {as: s.session, keyID: keyARN, messageType: "-",
			want: &apiError{400, "AccessDeniedException", explicit(s.sessionARN)}, reason: "explicit deny in statement DenyRawMessages"},
		"the signer with another algorithm": {as: s.session, keyID: keyARN, algorithm: types.SigningAlgorithmSpecEcdsaSha384,
			want: &apiError{400, "AccessDeniedException", explicit(s.sessionARN)}, reason: "explicit deny in statement DenyOtherSigningAlgorithms",
			moto: "ValidationException"}, // moto checks the algorithm against the key spec
		"an unknown key": {as: e.asKey(unknownKey), keyID: keyARN,
			want: &apiError{400, "AccessDeniedException", "User: anonymous is not authorized to perform: kms:Sign on resource: " + keyARN +
				" because no resource-based policy allows the kms:Sign action"}, reason: "caller unknown"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			in := &kms.SignInput{
				KeyId:            aws.String(tt.keyID),
				Message:          digest[:],
				MessageType:      types.MessageTypeDigest,
				SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256,
			}
			switch tt.messageType {
			case "-":
				in.MessageType = ""
			case "":
			default:
				in.MessageType = tt.messageType
			}
			if tt.algorithm != "" {
				in.SigningAlgorithm = tt.algorithm
			}
			out, err := kms.NewFromConfig(tt.as).Sign(t.Context(), in)
			d := e.lastDecision(t)
			assert.Equal(t, keyARN, d.Target)
			assert.Contains(t, d.Reason, tt.reason)
			if tt.want == nil {
				require.NoError(t, err)
				assert.NotEmpty(t, out.Signature)
				assert.True(t, d.Allowed)
				assert.Equal(t, s.sessionARN, d.Principal)
				return
			}
			assert.Equal(t, *tt.want, apiErrorOf(t, err))
			assert.False(t, d.Allowed)
			_, err = kms.NewFromConfig(e.bypass(tt.as)).Sign(t.Context(), in)
			assertMotoAnswers(t, tt.moto, err)
		})
	}
}

// TestKMSSignNeedsAnAllow: without a Deny, a key policy that allows someone else refuses the signer.
func TestKMSSignNeedsAnAllow(t *testing.T) {
	e := newEnv(t)
	s := newSigner(t, e)
	key, err := kms.NewFromConfig(e.admin).CreateKey(t.Context(), &kms.CreateKeyInput{
		KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify,
		Policy: aws.String(policy.NewDocument(policy.Statement{
			Sid: "OtherAccountAdministers", Effect: policy.Allow, Principal: &policy.Principal{AWS: policy.Strings{"arn:aws:iam::210987654321:root"}},
			Action: policy.Strings{"kms:*"}, Resource: policy.Strings{"*"},
		}).JSON()),
	})
	require.NoError(t, err)
	keyARN := aws.ToString(key.KeyMetadata.Arn)
	_, err = kms.NewFromConfig(s.session).Sign(t.Context(), &kms.SignInput{
		KeyId: aws.String(keyARN), Message: []byte("raw"), SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256,
	})
	assert.Equal(t, apiError{400, "AccessDeniedException", "User: " + s.sessionARN + " is not authorized to perform: kms:Sign on resource: " +
		keyARN + " because no resource-based policy allows the kms:Sign action"}, apiErrorOf(t, err))
	assert.Contains(t, e.lastDecision(t).Reason, "OtherAccountAdministers: principal does not match")
}

func TestKMSMissingKeyPassesToMoto(t *testing.T) {
	e := newEnv(t)
	s := newSigner(t, e)
	_, err := kms.NewFromConfig(s.session).Sign(t.Context(), &kms.SignInput{
		KeyId: aws.String("alias/" + uniqueName("missing")), Message: []byte("raw"), SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256,
	})
	assert.Equal(t, "NotFoundException", apiErrorOf(t, err).code, "moto's answer, as KMS's")
	d := e.lastDecision(t)
	assert.True(t, d.Allowed)
	assert.Contains(t, d.Reason, "forwarded for moto to answer NotFoundException")
}

func TestKMSMac(t *testing.T) {
	e := newEnv(t)
	s := newSigner(t, e)
	keyARN := aws.ToString(s.subjectKey.Arn)
	explicit := func(who, action string) string {
		return "User: " + who + " is not authorized to perform: kms:" + action + " on resource: " + keyARN + " with an explicit deny in a key policy"
	}
	mac := func(as aws.Config, algorithm types.MacAlgorithmSpec) func() error {
		return func() error {
			_, err := kms.NewFromConfig(as).GenerateMac(t.Context(), &kms.GenerateMacInput{
				KeyId: s.subjectKey.KeyId, Message: []byte("engineer|account"), MacAlgorithm: algorithm,
			})
			return err
		}
	}
	verify := func(as aws.Config) func() error {
		return func() error {
			_, err := kms.NewFromConfig(as).VerifyMac(t.Context(), &kms.VerifyMacInput{
				KeyId: s.subjectKey.KeyId, Message: []byte("engineer|account"), MacAlgorithm: types.MacAlgorithmSpecHmacSha256,
				Mac: make([]byte, 32),
			})
			return err
		}
	}
	tests := map[string]struct {
		call, direct func() error // through the front end, straight to moto
		want         *apiError
		reason       string
		moto         string // the error code moto alone answers the call with ("": it admits it)
	}{
		"the signer computes a subject": {call: mac(s.session, types.MacAlgorithmSpecHmacSha256), reason: "allowed by statement SignerComputesSubjects"},
		"another role computes a subject": {call: mac(e.asKey(backendKey), types.MacAlgorithmSpecHmacSha256),
			direct: mac(e.bypass(e.asKey(backendKey)), types.MacAlgorithmSpecHmacSha256),
			want:   &apiError{400, "AccessDeniedException", explicit(backendARN, "GenerateMac")}, reason: "explicit deny in statement DenyMacByOthers"},
		"the signer with another algorithm": {call: mac(s.session, types.MacAlgorithmSpecHmacSha512),
			direct: mac(e.bypass(s.session), types.MacAlgorithmSpecHmacSha512),
			want:   &apiError{400, "AccessDeniedException", explicit(s.sessionARN, "GenerateMac")}, reason: "explicit deny in statement DenyOtherMacAlgorithms"},
		"the signer verifies": {call: verify(s.session), direct: verify(e.bypass(s.session)),
			want: &apiError{400, "AccessDeniedException", explicit(s.sessionARN, "VerifyMac")}, reason: "explicit deny in statement DenyVerifyMac",
			moto: "KMSInvalidMacException"}, // the MAC is wrong, and moto says so
		"another role verifies": {call: verify(e.asKey(backendKey)), direct: verify(e.bypass(e.asKey(backendKey))),
			want: &apiError{400, "AccessDeniedException", explicit(backendARN, "VerifyMac")}, reason: "explicit deny in statement DenyVerifyMac",
			moto: "KMSInvalidMacException"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			err := tt.call()
			d := e.lastDecision(t)
			assert.Equal(t, keyARN, d.Target)
			assert.Contains(t, d.Reason, tt.reason)
			if tt.want == nil {
				assert.NoError(t, err)
				assert.True(t, d.Allowed)
				return
			}
			assert.Equal(t, *tt.want, apiErrorOf(t, err))
			assert.False(t, d.Allowed)
			assertMotoAnswers(t, tt.moto, tt.direct())
		})
	}
}

// assertMotoAnswers checks what moto alone made of a call the front end refused: it admitted it
// (code "") or refused it for a reason of its own, never for the key policy.
func assertMotoAnswers(t *testing.T, code string, err error) {
	t.Helper()
	if code == "" {
		assert.NoError(t, err, "moto alone admits the call")
		return
	}
	assert.Equal(t, code, apiErrorOf(t, err).code)
}

// TestKMSRefusalWireFormat checks a refusal's bytes: a JSON 1.1 error document.
func TestKMSRefusalWireFormat(t *testing.T) {
	e := newEnv(t)
	s := newSigner(t, e)
	keyARN := aws.ToString(s.signingKey.Arn)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.check.URL(),
		strings.NewReader(`{"KeyId":"`+keyARN+`","Message":"aGk=","SigningAlgorithm":"ECDSA_SHA_256","MessageType":"DIGEST"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "TrentService.Sign")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+backendKey+"/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)

	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "application/x-amz-json-1.1", resp.Header.Get("Content-Type"))
	assert.JSONEq(t, `{"__type":"AccessDeniedException","message":"User: `+backendARN+
		` is not authorized to perform: kms:Sign on resource: `+keyARN+` with an explicit deny in a key policy"}`, string(got))
}
