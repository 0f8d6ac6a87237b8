package broker

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

// MaxBodyBytes is the largest request body the API reads; a longer one is refused with 413 before
// it is decoded. The largest valid body, a request whose ticket and justification are at their
// limits with every character written as a JSON surrogate-pair escape (12 bytes), is under 13 KB.
const MaxBodyBytes = 16 << 10

// decodeObject reads r's body as one JSON object whose members are the named string fields, each
// at most once, and sets them; a field left out stays "". It refuses, naming what it refuses:
// a body over MaxBodyBytes (ErrTooLarge), one that is not UTF-8, not JSON or not one object, a
// member that is not one of fields (names match exactly, not in any case as encoding/json does),
// one given twice (encoding/json keeps the last), one that is not a string, and anything after the
// object. An empty body is an empty object when emptyOK. The contents of the strings are the
// broker's to check (ValidateTicket, the justification's rule, …), with the field named.
func decodeObject(w http.ResponseWriter, r *http.Request, emptyOK bool, fields map[string]*string) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return refuse(ErrTooLarge, "the request body is too large: at most %d bytes", MaxBodyBytes)
	}
	if err != nil {
		return refuse(ErrInvalid, "the request body could not be read")
	}
	if emptyOK && len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if !utf8.Valid(body) {
		return refuse(ErrInvalid, "the request body is not UTF-8 text")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	// A number token stays text (json.Number): decoded as float64, one too large for it fails with
	// an error that repeats the whole number (found by FuzzDecodeObject).
	dec.UseNumber()
	syntax := func(err error) error {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return refuse(ErrInvalid, "the request body is not the expected JSON: it ends too soon")
		}
		// encoding/json's syntax errors name a character and a position, never a whole value
		return refuse(ErrInvalid, "the request body is not the expected JSON: %v", err)
	}
	tok, err := dec.Token()
	if err != nil {
		return syntax(err)
	}
	if tok != json.Delim('{') {
		return refuse(ErrInvalid, "the request body is not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return syntax(err)
		}
		name, _ := tok.(string) // a member name: the decoder admits nothing else here
		dst, ok := fields[name]
		switch {
		case !ok:
			return refuse(ErrInvalid, "the request body has an unknown field %q", echo(name))
		case seen[name]:
			return refuse(ErrInvalid, "the request body has the field %q more than once", name)
		}
		seen[name] = true
		start := dec.InputOffset()
		if tok, err = dec.Token(); err != nil {
			return syntax(err)
		}
		s, ok := tok.(string)
		if !ok {
			return refuse(ErrInvalid, "the field %q must be a JSON string", name)
		}
		if replaced(body[start:dec.InputOffset()], s) {
			return refuse(ErrInvalid, "the field %q has an escaped lone surrogate (such as \\ud800), which is not a character", name)
		}
		*dst = s
	}
	if tok, err = dec.Token(); err != nil {
		return syntax(err)
	}
	if tok != json.Delim('}') {
		return refuse(ErrInvalid, "the request body is not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return refuse(ErrInvalid, "the request body has data after its JSON object")
	}
	return nil
}

// replaced reports whether encoding/json put U+FFFD into s, decoded from raw, for an escaped lone
// surrogate ("\ud800"): s has more U+FFFD than raw writes, as itself or as the escape \ufffd.
func replaced(raw []byte, s string) bool {
	n := strings.Count(s, "\uFFFD")
	if n == 0 {
		return false
	}
	lower := bytes.ToLower(raw)
	return n > bytes.Count(raw, []byte("\uFFFD"))+bytes.Count(lower, []byte(`\ufffd`))
}
