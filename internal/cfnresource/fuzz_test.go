package cfnresource

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecode: Decode never panics; every event it accepts is Answerable; an Answerable event has a
// ResponseURL that Check can decide on without leaking it; and its FAILED answer fits the limit.
// The seed corpus is testdata/fuzz/FuzzDecode plus the fixtures.
func FuzzDecode(f *testing.F) {
	fixtures, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range fixtures {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		e, err := Decode(payload)
		if err == nil && !Answerable(e) {
			t.Fatalf("Decode accepted an event that cannot be answered: %+v", e)
		}
		if !Answerable(e) {
			return
		}
		u, perr := url.Parse(e.ResponseURL)
		if perr != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			t.Fatalf("Answerable event with an unusable ResponseURL (parse error %v)", perr)
		}
		if cerr := (ResponseHosts{}).Check(e.ResponseURL); cerr != nil {
			msg := cerr.Error()
			if strings.ContainsAny(msg, "/?") || strings.Contains(msg, e.ResponseURL) {
				t.Fatalf("Check's error holds part of the URL's path or query: %s", msg)
			}
		}
		reason := "x"
		if err != nil {
			reason = err.Error()
		}
		body, eerr := encodeResponse(failed(e, reason))
		if eerr != nil || len(body) > maxBodyBytes {
			t.Fatalf("the FAILED answer does not fit: %d bytes, %v", len(body), eerr)
		}
	})
}

// FuzzDecodeProperties: DecodeProperties never panics, and what it accepts respects the limits.
func FuzzDecodeProperties(f *testing.F) {
	for _, seed := range []string{
		`{"ServiceToken":"arn:t","RoleArn":"arn:r","AccountId":"1","Enabled":"true","RetentionDays":"14","Small":"-7","Regions":["a","b"]}`,
		`{"RoleArn":"arn:r","AccountId":"1","Enabled":true}`,
		`{"RoleArn":"arn:r","AccountId":"1","Small":"300","Regions":[1,{}],"Other":null}`,
		`{}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var props map[string]any
		if json.Unmarshal(data, &props) != nil {
			return
		}
		var p hookProperties
		if err := DecodeProperties(props, &p); err != nil {
			if !utf8.ValidString(err.Error()) && utf8.Valid(data) {
				t.Fatalf("invalid UTF-8 in the error: %q", err)
			}
			return
		}
		if p.RoleArn == "" || p.AccountID == "" {
			t.Fatalf("required properties accepted empty: %+v", p)
		}
		for _, s := range append([]string{p.RoleArn, p.AccountID}, p.Regions...) {
			if len(s) > maxPropertyBytes {
				t.Fatalf("accepted a %d-byte value", len(s))
			}
		}
	})
}
