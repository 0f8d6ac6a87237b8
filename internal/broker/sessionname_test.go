package broker_test

import (
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/broker"
)

// stsSessionName is STS's rule for RoleSessionName (AssumeRoleWithWebIdentity).
var stsSessionName = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

func sessionName(t testing.TB, engineer, ticket string) string {
	t.Helper()
	name, err := broker.SessionName(engineer, ticket)
	require.NoError(t, err, "engineer %q, ticket %q", engineer, ticket)
	require.Regexp(t, stsSessionName, name, "engineer %q, ticket %q", engineer, ticket)
	return name
}

func TestSessionName(t *testing.T) {
	for name, tc := range map[string]struct{ engineer, ticket, want string }{
		"the common case":        {"alice@doit.com", "SUP-9", "alice@doit.com-SUP-9"},
		"e2e":                    {"alice@doit.com", "SUP-4242", "alice@doit.com-SUP-4242"},
		"characters STS takes":   {"x+y,w.v@u_t", "1", "x+y,w.v@u_t-1"},
		"= is escaped":           {"a=b", "T=1", "a=3Db-T=3D1"},
		"- in the engineer":      {"jean-luc@doit.com", "SUP-9", "jean=2Dluc@doit.com-SUP-9"},
		"space, # and /":         {"bob smith", "T#1/2", "bob=20smith-T=231=2F2"},
		"non-ASCII":              {"élodie", "SUP-ä", "=C3=A9lodie-SUP-=C3=A4"},
		"no engineer":            {"", "X", "-X"},
		"exactly 64":             {strings.Repeat("a", 58), "SUP-1", strings.Repeat("a", 58) + "-SUP-1"},
		"65 shortens":            {strings.Repeat("e", 63), "SUP-1", strings.Repeat("e", 40) + "==s5fhtcsaiblnuglh-SUP-1"},
		"long engineer":          {strings.Repeat("a", 70), "X", strings.Repeat("a", 44) + "==npk6ka2ikwqreqpq-X"},
		"cut in whole chars":     {strings.Repeat("ä", 30), "SUP-1", strings.Repeat("=C3=A4", 6) + "==lmfxdunl7e6ksizj-SUP-1"},
		"ticket at the limit":    {strings.Repeat("x", 100), strings.Repeat("a", 32), strings.Repeat("x", 13) + "==bhwln26ixtx4om7w-" + strings.Repeat("a", 32)},
		"ticket with - and =":    {"alice@doit.com", "A-B=C", "alice@doit.com-A-B=3DC"},
		"ticket of one hyphen":   {"alice@doit.com", "-", "alice@doit.com--"},
		"engineer of one hyphen": {"-", "1", "=2D-1"},
	} {
		t.Run(name, func(t *testing.T) {
			got := sessionName(t, tc.engineer, tc.ticket)
			assert.Equal(t, tc.want, got)
			e, ticket, ok := parseSessionName(got)
			require.True(t, ok, got)
			assert.Equal(t, tc.ticket, ticket, "the ticket is in the name, whole")
			if !strings.Contains(e, "==") {
				assert.Equal(t, tc.engineer, e, "an unshortened name spells out the engineer")
			}
		})
	}
}

// The inputs: a 63-character engineer cut the ticket away; SUP-ä and SUP-ö both became
// SUP-_; and a "-" in either part made the split ambiguous.
func TestSessionNameTellsSessionsApart(t *testing.T) {
	long := strings.Repeat("e", 63)
	one, two := sessionName(t, long, "SUP-1"), sessionName(t, long, "SUP-2")
	assert.NotEqual(t, one, two)
	assert.True(t, strings.HasSuffix(one, "-SUP-1"), one)
	assert.True(t, strings.HasSuffix(two, "-SUP-2"), two)

	assert.NotEqual(t, sessionName(t, "alice@doit.com", "SUP-ä"), sessionName(t, "alice@doit.com", "SUP-ö"))
	assert.NotEqual(t, sessionName(t, "élodie", "1"), sessionName(t, "ślodie", "1"))
	assert.NotEqual(t, sessionName(t, "a-b", "c"), sessionName(t, "a", "b-c"))
	assert.NotEqual(t, sessionName(t, "a=2Db", "c"), sessionName(t, "a-b", "c"), "the escape character is escaped")
	assert.NotEqual(t, sessionName(t, "a_b", "c"), sessionName(t, "a b", "c"))
	// a shortened engineer never looks like a whole one, even one that spells the shortened form
	short := sessionName(t, strings.Repeat("a", 70), "X")
	e, _, _ := parseSessionName(short)
	assert.NotEqual(t, short, sessionName(t, e, "X"))
	// two long engineers that differ only past the cut
	assert.NotEqual(t, sessionName(t, strings.Repeat("a", 100)+"1", "X"), sessionName(t, strings.Repeat("a", 100)+"2", "X"))
}

func TestValidateTicket(t *testing.T) {
	for name, tc := range map[string]struct {
		ticket string
		reason string // "" for a valid ticket
	}{
		"plain":                      {"SUP-1234", ""},
		"32 characters":              {strings.Repeat("a", 32), ""},
		"33 characters":              {strings.Repeat("a", 33), "at most 32 characters"},
		"five ä (30 once escaped)":   {strings.Repeat("ä", 5), ""},
		"six ä (36 once escaped)":    {strings.Repeat("ä", 6), "at most 32 characters as the session name writes it, and it takes 36"},
		"10 of # (30 once escaped)":  {strings.Repeat("#", 10), ""},
		"11 of # (33 once escaped)":  {strings.Repeat("#", 11), "at most 32"},
		"a space":                    {"SUP 1", ""},
		"empty":                      {"", "a ticket is required"},
		"a tab":                      {"SUP\t1", "control character"},
		"a newline":                  {"SUP-1\n", "control character"},
		"NUL":                        {"SUP\x001", "control character"},
		"not UTF-8":                  {"SUP-\xff", "not UTF-8"},
		"an emoji (12 once escaped)": {"SUP-😀", ""},
		"a zero-width space":         {"SUP-\u200b1", "an invisible character (U+200B)"},
		"a right-to-left override":   {"SUP-\u202e1", "an invisible character (U+202E)"},
		"a soft hyphen":              {"SUP\u00ad1", "an invisible character (U+00AD)"},
		"a variation selector":       {"SUP-1\ufe0f", "an invisible character (U+FE0F)"},
		"a Hangul filler":            {"SUP-\u3164", "an invisible character (U+3164)"},
		"a line separator":           {"SUP\u20281", "control character"},
	} {
		t.Run(name, func(t *testing.T) {
			err := broker.ValidateTicket(tc.ticket)
			_, nameErr := broker.SessionName("alice@doit.com", tc.ticket)
			if tc.reason == "" {
				assert.NoError(t, err)
				assert.NoError(t, nameErr)
				return
			}
			require.ErrorIs(t, err, broker.ErrInvalid)
			assert.ErrorContains(t, err, tc.reason)
			assert.Equal(t, err, nameErr, "SessionName refuses what ValidateTicket refuses")
		})
	}
}

// Many random pairs, drawn so that a lossy or ambiguous encoding would collide: few distinct
// pieces ("-", "=", "=2D", "==", "ä", "ö", …), engineers from empty to 300 characters sharing long
// starts, tickets up to the limit. Every name is valid, spells out its ticket, and no two pairs
// share one.
func TestSessionNameIsInjective(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"a", "b", "-", "=", "=2D", "==", "2D", "ä", "ö", "é", "😀", "_", " ", "@", ".", "+", ",", "\x00", "\t", "\xff"}
	printable := pieces[:len(pieces)-3] // most tickets are valid ones
	word := func(pieces []string, max int) string {
		var b strings.Builder
		for range rng.IntN(max + 1) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	starts := []string{"", strings.Repeat("a", 40), strings.Repeat("ä", 20), strings.Repeat("engineer-", 30)}
	seen := map[string][2]string{}
	pairs := 0
	for range 50000 {
		engineer := word(pieces, 6)
		switch rng.IntN(3) {
		case 1:
			engineer = starts[rng.IntN(len(starts))] + engineer
		case 2:
			engineer = word(pieces, 300)
		}
		ticket := word(printable, 5)
		if rng.IntN(10) == 0 {
			ticket = word(pieces, 5)
		}
		if rng.IntN(4) == 0 { // at or near the limit
			ticket = strings.Repeat("S", 32-rng.IntN(3)*3) + ticket
		}
		name, err := broker.SessionName(engineer, ticket)
		if err != nil {
			require.ErrorIs(t, err, broker.ErrInvalid)
			continue
		}
		pairs++
		require.Regexp(t, stsSessionName, name, "engineer %q, ticket %q", engineer, ticket)
		e, tk, ok := parseSessionName(name)
		require.True(t, ok, name)
		require.Equal(t, ticket, tk, name)
		if !strings.Contains(e, "==") {
			require.Equal(t, engineer, e, name)
		}
		pair := [2]string{engineer, ticket}
		if prev, dup := seen[name]; dup {
			require.Equal(t, prev, pair, "two pairs share the name %q", name)
		}
		seen[name] = pair
	}
	t.Logf("%d valid pairs, %d distinct names", pairs, len(seen))
	require.Greater(t, len(seen), 30000, "the draw gives many distinct pairs")
}

func FuzzSessionName(f *testing.F) {
	f.Add("a-b", "c", "a", "b-c")
	f.Add("alice@doit.com", "SUP-ä", "alice@doit.com", "SUP-ö")
	f.Add(strings.Repeat("e", 63), "SUP-1", strings.Repeat("e", 63), "SUP-2")
	f.Add("a=2Db", "c", "a-b", "c")
	f.Fuzz(func(t *testing.T, e1, t1, e2, t2 string) {
		n1, err1 := broker.SessionName(e1, t1)
		n2, err2 := broker.SessionName(e2, t2)
		if err1 != nil || err2 != nil {
			return
		}
		for _, n := range []string{n1, n2} {
			if !stsSessionName.MatchString(n) {
				t.Fatalf("%q is not a valid RoleSessionName", n)
			}
		}
		if _, tk, ok := parseSessionName(n1); !ok || tk != t1 {
			t.Fatalf("%q does not spell out ticket %q", n1, t1)
		}
		if (e1 != e2 || t1 != t2) && n1 == n2 {
			t.Fatalf("(%q, %q) and (%q, %q) share the name %q", e1, t1, e2, t2, n1)
		}
	})
}

// parseSessionName reads a name back: the engineer (or, shortened, its part before "==" and the
// hash, still escaped) and the ticket. It is the test's own reading of the documented rule.
func parseSessionName(name string) (engineer, ticket string, ok bool) {
	e, t, ok := strings.Cut(name, "-")
	if !ok {
		return "", "", false
	}
	ticket, ok = unescapeSessionPart(t)
	if !ok {
		return "", "", false
	}
	if strings.Contains(e, "==") {
		return e, ticket, true
	}
	engineer, ok = unescapeSessionPart(e)
	return engineer, ticket, ok
}

func unescapeSessionPart(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		if i+3 > len(s) || strings.ToUpper(s[i+1:i+3]) != s[i+1:i+3] {
			return "", false
		}
		c, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b.WriteByte(byte(c))
		i += 2
	}
	return b.String(), true
}
