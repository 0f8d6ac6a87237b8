package broker_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/broker"
)

// requestBody is a POST /requests body with fields put in place of the defaults, in order (a key
// given twice stays twice).
func requestBody(members ...string) string {
	base := []string{`"account":"111122223333"`, `"ticket":"SUP-1"`, `"justification":"why"`, `"duration":"1h"`}
	return "{" + strings.Join(append(base, members...), ",") + "}"
}

// The API reads exactly one JSON object of its string fields, each once; it refuses anything else
// with 400 naming what it refuses (413 for a body over MaxBodyBytes), and records the refusal
// without repeating an oversized value.
func TestBrokerHTTPStrictBodies(t *testing.T) {
	f := newFixture(t)
	api := newAPI(t, f)
	r := f.request(t)
	long := strings.Repeat("9", 10_000)
	for name, tc := range map[string]struct {
		path, body string
		status     int
		reason     string
	}{
		// the structure
		"a field twice": {"/requests", requestBody(`"ticket":"SUP-2"`), 400, `the request body has the field "ticket" more than once`},
		"a field twice, once escaped": {"/requests", requestBody(`"acc\u006funt":"444455556666"`), 400,
			`the request body has the field "account" more than once`},
		"a field in another case":   {"/requests", requestBody(`"ACCOUNT":"444455556666"`), 400, `the request body has an unknown field "ACCOUNT"`},
		"an unknown field":          {"/requests", requestBody(`"approved":"true"`), 400, `the request body has an unknown field "approved"`},
		"an unknown field, long":    {"/requests", requestBody(`"` + long + `":"x"`), 400, `the request body has an unknown field "9999`},
		"a second object":           {"/requests", requestBody() + `{"account":"444455556666"}`, 400, "the request body has data after its JSON object"},
		"a second object, new line": {"/requests", requestBody() + "\n" + requestBody(), 400, "the request body has data after its JSON object"},
		"trailing garbage":          {"/requests", requestBody() + " x", 400, "the request body has data after its JSON object"},
		"trailing array":            {"/requests", requestBody() + "[]", 400, "the request body has data after its JSON object"},
		"an array":                  {"/requests", "[" + requestBody() + "]", 400, "the request body is not a JSON object"},
		"a string":                  {"/requests", `"hello"`, 400, "the request body is not a JSON object"},
		"empty":                     {"/requests", "", 400, "ends too soon"},
		"cut short":                 {"/requests", `{"account":`, 400, "ends too soon"},
		"a number":                  {"/requests", requestBody()[:len(requestBody())-1] + `,"x":1}`, 400, `unknown field "x"`},
		"a duration as a number":    {"/requests", `{"account":"111122223333","duration":3600}`, 400, `the field "duration" must be a JSON string`},
		"a null":                    {"/requests", `{"ticket":null}`, 400, `the field "ticket" must be a JSON string`},
		"an object":                 {"/requests", `{"ticket":{"id":"SUP-1"}}`, 400, `the field "ticket" must be a JSON string`},
		"not UTF-8":                 {"/requests", `{"ticket":"SUP-` + "\xff" + `"}`, 400, "the request body is not UTF-8 text"},
		"a lone surrogate":          {"/requests", `{"ticket":"SUP-\ud800"}`, 400, `the field "ticket" has an escaped lone surrogate`},
		"a reversed surrogate pair": {"/requests", `{"justification":"\ude00\ud83d"}`, 400, `the field "justification" has an escaped lone surrogate`},
		// the strings: NUL, controls, invisible characters, lengths, each naming its field
		"NUL in the ticket":              {"/requests", requestBody(`"ticket":"x"`)[:0] + `{"account":"111122223333","ticket":"SUP\u00001","justification":"why","duration":"1h"}`, 400, "the ticket has a control character"},
		"zero-width space in the ticket": {"/requests", `{"account":"111122223333","ticket":"SUP-\u200b1","justification":"why","duration":"1h"}`, 400, "the ticket has an invisible character (U+200B)"},
		"BOM in the ticket":              {"/requests", `{"account":"111122223333","ticket":"\ufeffSUP-1","justification":"why","duration":"1h"}`, 400, "the ticket has an invisible character (U+FEFF)"},
		"line separator in the ticket":   {"/requests", `{"account":"111122223333","ticket":"SUP\u20281","justification":"why","duration":"1h"}`, 400, "the ticket has a control character"},
		"NUL in the justification":       {"/requests", `{"account":"111122223333","ticket":"SUP-1","justification":"why\u0000","duration":"1h"}`, 400, "the justification has a control character (U+0000)"},
		"escape in the justification":    {"/requests", `{"account":"111122223333","ticket":"SUP-1","justification":"why\u001b[2J","duration":"1h"}`, 400, "the justification has a control character (U+001B)"},
		"zero-width joiner in the justification": {"/requests", `{"account":"111122223333","ticket":"SUP-1","justification":"wh\u200dy","duration":"1h"}`, 400,
			"the justification has an invisible character (U+200D)"},
		"right-to-left override in the justification": {"/requests", `{"account":"111122223333","ticket":"SUP-1","justification":"ok \u202edeny\u202c","duration":"1h"}`, 400,
			"the justification has an invisible character (U+202E)"},
		"tag characters in the justification": {"/requests", `{"account":"111122223333","ticket":"SUP-1","justification":"why\udb40\udc41","duration":"1h"}`, 400,
			"the justification has an invisible character (U+E0041)"},
		"NUL in the account":  {"/requests", `{"account":"1111222233\u000033","ticket":"SUP-1","justification":"why","duration":"1h"}`, 400, `account ID "1111222233\x0033" is not 12 digits`},
		"NUL in the duration": {"/requests", `{"account":"111122223333","ticket":"SUP-1","justification":"why","duration":"1h\u0000"}`, 400, `duration "1h\x00" is not a duration`},
		"a 10 KB ticket":      {"/requests", `{"account":"111122223333","ticket":"` + long + `","justification":"why","duration":"1h"}`, 400, "the ticket is too long: at most 32 characters"},
		"a 1,001-character justification": {"/requests", `{"account":"111122223333","ticket":"SUP-1","justification":"` + strings.Repeat("ä", 1001) + `","duration":"1h"}`, 400,
			"the justification is too long: at most 1000 characters, and it has 1001"},
		"a long duration": {"/requests", `{"account":"111122223333","ticket":"SUP-1","justification":"why","duration":"` + strings.Repeat("0", 40) + `1h"}`, 400,
			"duration is too long: at most 32 characters"},
		"a 10 KB account": {"/requests", `{"account":"` + long + `","ticket":"SUP-1","justification":"why","duration":"1h"}`, 400, "is not 12 digits"},
		// the size
		"a 60 KB ticket":        {"/requests", `{"account":"111122223333","ticket":"` + strings.Repeat("9", 60_000) + `","justification":"why","duration":"1h"}`, 413, "the request body is too large: at most 16384 bytes"},
		"a 60 KB justification": {"/requests", `{"account":"111122223333","ticket":"SUP-1","justification":"` + strings.Repeat("j", 60_000) + `","duration":"1h"}`, 413, "at most 16384 bytes"},
		// the routes without fields take no body, or {}
		"approve with a field":            {"/requests/" + r.ID + "/approve", `{"state":"APPROVED"}`, 400, `the request body has an unknown field "state"`},
		"credentials with trailing data":  {"/requests/" + r.ID + "/credentials", `{} {}`, 400, "data after its JSON object"},
		"credentials with a large body":   {"/requests/" + r.ID + "/credentials", strings.Repeat(" ", 20_000), 413, "too large"},
		"pre-approval's duration twice":   {"/accounts/111122223333/pre-approval", `{"maxDuration":"1h","maxDuration":"0s"}`, 400, `the field "maxDuration" more than once`},
		"pre-approval with NUL":           {"/accounts/111122223333/pre-approval", `{"maxDuration":"1h\u0000"}`, 400, `maxDuration "1h\x00" is not a duration`},
		"pre-approval with a long string": {"/accounts/111122223333/pre-approval", `{"maxDuration":"` + long + `"}`, 400, "maxDuration is too long: at most 32 characters"},
	} {
		t.Run(name, func(t *testing.T) {
			who := engineer
			if strings.Contains(tc.path, "/approve") || strings.Contains(tc.path, "/pre-approval") {
				who = approver
			}
			status, body, _ := api.call("POST", tc.path, who, tc.body)
			assert.Equal(t, tc.status, status, body)
			var e map[string]string
			require.NoError(t, json.Unmarshal([]byte(body), &e), body)
			assert.Contains(t, e["error"], tc.reason)
			assert.Less(t, len(body), 300, "the answer does not repeat an oversized value")
			refusal := lastRefusal(t, f.events(t, broker.Filter{Engineer: who}))
			assert.Equal(t, e["error"], refusal.Reason, "the refusal is audited")
			blob, err := json.Marshal(refusal)
			require.NoError(t, err)
			assert.Less(t, len(blob), 1000, "nor does its audit event")
		})
	}
	got, err := f.b.Get(t.Context(), r.ID)
	require.NoError(t, err)
	assert.Equal(t, broker.Pending, got.State)
}

// What the strict reading admits: every valid body, even with every character escaped; no body or
// {} where a route has no fields; newlines and tabs in the justification.
func TestBrokerHTTPBodiesThatAreFine(t *testing.T) {
	f := newFixture(t)
	api := newAPI(t, f)
	escaped := strings.Repeat(`\ud83d\ude00`, broker.MaxJustificationLength) // 1,000 "😀", 12 bytes each
	body := `{"account":"111122223333","ticket":"SUP-1","justification":"` + escaped + `","duration":"1h"}`
	require.Less(t, len(body), broker.MaxBodyBytes)
	status, got, _ := api.call("POST", "/requests", engineer, body)
	require.Equal(t, http.StatusCreated, status, got)
	var r broker.Request
	require.NoError(t, json.Unmarshal([]byte(got), &r))
	assert.Equal(t, strings.Repeat("😀", broker.MaxJustificationLength), r.Justification)

	// U+FFFD itself, written or escaped, is a character like any other
	status, got, _ = api.call("POST", "/requests", engineer, `{"account":"111122223333","ticket":"SUP-\uFFFD","justification":"�, \ufffd","duration":"1h"}`)
	require.Equal(t, http.StatusCreated, status, got)
	require.NoError(t, json.Unmarshal([]byte(got), &r))
	assert.Equal(t, "SUP-\uFFFD", r.Ticket)

	status, got, _ = api.call("POST", "/requests", engineer,
		" \n"+`{"duration":"30m","justification":"the deploys fail:`+`\n\t- eu-west-1\n\t- us-east-1","ticket":"SUP-ä","account":"111122223333"}`+"\n")
	require.Equal(t, http.StatusCreated, status, got)

	for i, b := range []string{"", "{}", " { } \n", `{"reason":"outside the contract"}`} {
		action := []string{"approve", "revoke", "revoke", "dismiss"}[i]
		r := f.request(t)
		status, got, _ := api.call("POST", fmt.Sprintf("/requests/%s/%s", r.ID, action), approver, b)
		assert.Equal(t, http.StatusOK, status, "%s with %q: %s", action, b, got)
	}
}

// The audit query: one value per parameter, only the known parameters.
func TestBrokerHTTPAuditQueryIsStrict(t *testing.T) {
	f := newFixture(t)
	api := newAPI(t, f)
	for query, reason := range map[string]string{
		"?account=111122223333&account=444455556666":               `the query parameter "account" is given 2 times`,
		"?account=111122223333&acount=1":                           `unknown query parameter "acount"`,
		"?engineer=a&engineer=b":                                   `the query parameter "engineer" is given 2 times`,
		"?account=111122223333&since=" + strings.Repeat("2", 5000): `since "2222`,
	} {
		status, body, _ := api.call("GET", "/audit"+query, approver, "")
		assert.Equal(t, http.StatusBadRequest, status, body)
		var e map[string]string
		require.NoError(t, json.Unmarshal([]byte(body), &e), body)
		assert.Contains(t, e["error"], reason)
		assert.Less(t, len(body), 300)
		refusal := lastRefusal(t, f.events(t, broker.Filter{Engineer: approver}))
		assert.Equal(t, "read-audit", refusal.Action)
	}
}
