package auth

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestBearerToken(t *testing.T) {
	cases := map[string]struct {
		header []string
		token  string
		reason Reason
	}{
		"none":                {nil, "", NoToken},
		"empty":               {[]string{""}, "", NoToken},
		"blank":               {[]string{"  "}, "", NoToken},
		"bearer":              {[]string{"Bearer abc.def.ghi"}, "abc.def.ghi", ""},
		"case of the scheme":  {[]string{"bEaReR abc"}, "abc", ""},
		"spaces around":       {[]string{"  Bearer   abc=  "}, "abc=", ""},
		"b64token characters": {[]string{"Bearer aZ09-._~+/=="}, "aZ09-._~+/==", ""},
		"Basic":               {[]string{"Basic YWxpY2U6cHc="}, "", WrongScheme},
		"no space":            {[]string{"Bearerabc"}, "", WrongScheme},
		"a tab as separator":  {[]string{"Bearer\tabc"}, "", WrongScheme},
		"Bearer alone":        {[]string{"Bearer"}, "", BadRequest},
		"Bearer and spaces":   {[]string{"Bearer   "}, "", BadRequest},
		"two tokens":          {[]string{"Bearer abc def"}, "", BadRequest},
		"a comma":             {[]string{"Bearer abc,Basic x"}, "", BadRequest},
		"only padding":        {[]string{"Bearer =="}, "", BadRequest},
		"padding inside":      {[]string{"Bearer a=b"}, "", BadRequest},
		"a quote":             {[]string{`Bearer "abc"`}, "", BadRequest},
		"not ASCII":           {[]string{"Bearer abcé"}, "", BadRequest},
		"two headers":         {[]string{"Bearer abc", "Bearer abc"}, "", BadRequest},
		"too long":            {[]string{"Bearer " + strings.Repeat("a", MaxTokenLength+1)}, "", BadRequest},
		"longest":             {[]string{"Bearer " + strings.Repeat("a", MaxTokenLength)}, strings.Repeat("a", MaxTokenLength), ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tc.header {
				h.Add("Authorization", v)
			}
			tok, err := BearerToken(h)
			assert.Equal(t, tc.token, tok)
			assert.Equal(t, tc.reason, ReasonOf(err), "%v", err)
		})
	}
}

// FuzzBearerToken: the parser never panics, refuses only with a header reason, and a token it
// returns is b64token, at most MaxTokenLength, and the header's last word.
func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"", "Bearer abc", "bearer a.b.c", "Basic x", "Bearer", "Bearer a b", "Bearer ==", " Bearer  x= ", "Bearer \x00", "Bearer é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		tok, err := parseBearer(header)
		if err != nil {
			switch r := ReasonOf(err); r {
			case NoToken, WrongScheme, BadRequest:
			default:
				t.Fatalf("reason %q for a header", r)
			}
			if tok != "" {
				t.Fatal("a token with an error")
			}
			if strings.Contains(err.Error(), header) && len(header) > 24 {
				t.Fatal("the error repeats the header")
			}
			return
		}
		if tok == "" || len(tok) > MaxTokenLength || !isB64Token(tok) {
			t.Fatalf("token %q", tok)
		}
		trimmed := strings.Trim(header, " \t")
		if !strings.HasSuffix(trimmed, " "+tok) || !strings.EqualFold(strings.Fields(trimmed)[0], "Bearer") {
			t.Fatalf("token %q is not the last word of a Bearer header %q", tok, header)
		}
	})
}
