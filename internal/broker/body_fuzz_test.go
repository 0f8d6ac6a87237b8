package broker

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

// The request decoder on any body: it never panics; it either refuses (a 400 or 413 refusal with
// a reason that names what to change, never the whole body) or fills exactly the fields of one
// JSON object, each as encoding/json reads it, with nothing else in the body.
func FuzzDecodeObject(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, ` { } `, `{"account":"111122223333","ticket":"SUP-1","justification":"j","duration":"1h"}`,
		`{"reason":"a"}{"reason":"b"}`, `{"reason":"a","reason":"b"}`, `{"Reason":"a"}`, `{"reason":1}`,
		`{"reason":"\ud800"}`, `{"reason":"\ufffd"}`, `[{"reason":"a"}]`, `{"reason":"a"`, "\xff", `{"reason":"a\u0000"}`,
		`{"reason":null}`, `{"reason":"a"} x`, `{"x":{"y":"z"}}`,
		// numbers too large for a float64, alone and as a field's value: the refusal must not repeat them
		strings.Repeat("4", 400), `{"reason":` + strings.Repeat("4", 400) + `}`, `{"reason":"a","ticket":-` + strings.Repeat("9", 400) + `e9999}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var reason, ticket string
		fields := map[string]*string{"reason": &reason, "ticket": &ticket}
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		err := decodeObject(w, r, true, fields)
		if err != nil {
			var refusal *Refusal
			if !errors.As(err, &refusal) || !(errors.Is(err, ErrInvalid) || errors.Is(err, ErrTooLarge)) {
				t.Fatalf("%q: not a 400 or 413 refusal: %v", body, err)
			}
			if len(body) > 200 && bytes.Contains([]byte(refusal.Reason), body) {
				t.Fatalf("the refusal repeats the body: %q", refusal.Reason)
			}
			return
		}
		if len(bytes.TrimSpace(body)) == 0 {
			if reason != "" || ticket != "" {
				t.Fatalf("an empty body filled fields")
			}
			return
		}
		if len(body) > MaxBodyBytes || !utf8.Valid(body) {
			t.Fatalf("%d bytes (valid UTF-8: %v) admitted", len(body), utf8.Valid(body))
		}
		var got map[string]json.RawMessage
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("%q admitted, but it is not one JSON object: %v", body, err)
		}
		for name, raw := range got {
			dst, ok := fields[name]
			if !ok {
				t.Fatalf("%q admitted with the unknown field %q", body, name)
			}
			var want string
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatalf("%q admitted with the field %q not a string", body, name)
			}
			if *dst != want {
				t.Fatalf("field %q: got %q, encoding/json reads %q", name, *dst, want)
			}
		}
	})
}
