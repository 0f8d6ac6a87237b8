package auth

import (
	"net/http"
	"strconv"
	"strings"
)

// MaxTokenLength bounds the bearer token the verifier will parse. Cognito's tokens are a few
// kilobytes even with many groups; anything far larger is refused before any decoding.
const MaxTokenLength = 16 << 10

// BearerToken is the token of the request's one Authorization header (RFC 6750 §2.1):
//
//	Authorization: Bearer <b64token>
//
// The scheme is case-insensitive (RFC 9110 §11.1); the token must be b64token characters
// (A-Z a-z 0-9 - . _ ~ + /, then any '='). Nothing else about the caller is read from the request:
// no query parameter, no form field, no other header.
func BearerToken(h http.Header) (string, error) {
	values := h.Values("Authorization")
	switch len(values) {
	case 0:
		return "", refuse(NoToken, "")
	case 1:
	default:
		return "", refuse(BadRequest, "more than one Authorization header")
	}
	return parseBearer(values[0])
}

func parseBearer(v string) (string, error) {
	v = strings.Trim(v, " \t")
	if v == "" {
		return "", refuse(NoToken, "an empty Authorization header")
	}
	scheme, rest, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		// The scheme is the client's own choice of word, not a secret; it is still cut short.
		return "", refuse(WrongScheme, "scheme "+quoteShort(scheme))
	}
	token := strings.TrimLeft(rest, " ")
	switch {
	case token == "":
		return "", refuse(BadRequest, "Bearer without a token")
	case len(token) > MaxTokenLength:
		return "", refuse(BadRequest, "a token longer than MaxTokenLength")
	case !isB64Token(token):
		return "", refuse(BadRequest, "a token with characters outside b64token (RFC 6750 §2.1)")
	}
	return token, nil
}

// isB64Token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
func isB64Token(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return false
		}
	}
	return true
}

// quoteShort quotes s for a log line, cut to 20 bytes.
func quoteShort(s string) string {
	const n = 20
	if len(s) > n {
		s = s[:n] + "..."
	}
	return strconv.Quote(s)
}
