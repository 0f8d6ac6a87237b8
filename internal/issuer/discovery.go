package issuer

import "fmt"

// Discovery is the OpenID Provider metadata (OpenID Connect Discovery 1.0 §3) of one account's
// issuer on one host. IAM reads issuer and jwks_uri; the issuer only mints ID tokens, so there is
// no authorization endpoint to advertise.
type Discovery struct {
	Issuer                           string   `json:"issuer"`
	JWKSURI                          string   `json:"jwks_uri"`
	ResponseTypesSupported           []string `json:"response_types_supported"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
}

// Discovery returns the metadata of the account's issuer on host (0 primary, 1 standby). Its
// issuer is byte-for-byte the URL the account's identity provider was created with.
func (i *Issuer) Discovery(account string, host int) (Discovery, error) {
	if err := checkAccount(account); err != nil {
		return Discovery{}, err
	}
	if host != 0 && host != 1 {
		return Discovery{}, fmt.Errorf("%w: issuer host %d, want 0 or 1", ErrInvalidRequest, host)
	}
	iss := i.vendor.IssuerURL(i.target(account), host)
	return Discovery{
		Issuer:                           iss,
		JWKSURI:                          iss + "/" + jwksPath,
		ResponseTypesSupported:           []string{"id_token"},
		SubjectTypesSupported:            []string{"pairwise"},
		IDTokenSigningAlgValuesSupported: []string{"ES256"},
	}, nil
}

// Paths of the two documents below an issuer URL.
const (
	discoveryPath = ".well-known/openid-configuration"
	jwksPath      = ".well-known/jwks.json"
)
