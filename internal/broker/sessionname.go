package broker

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"unicode/utf8"
)

// MaxTicketLength is the longest ticket, in characters as the session name writes it: letters,
// digits and _ + , . @ - count one each, every other character three per byte of its UTF-8 form
// ("ä" counts six). 32 leaves room in the 64 characters for the "-", a shortened engineer's "=="
// and hash, and 13 characters of the engineer's start (SessionName).
const MaxTicketLength = 32

const (
	maxSessionName   = 64
	shortenedMark    = "=="
	engineerHashSize = 16 // base32 characters of SHA-256: 80 bits
)

// ValidateTicket says why ticket cannot name a session, or nil: it must be non-empty UTF-8 text
// without control characters, line breaks or invisible characters (format characters such as
// zero-width spaces and bidirectional controls, and the other default-ignorable code points), at
// most MaxTicketLength characters once written in the session name.
// Its errors are refusals of class ErrInvalid, with the limit in the message.
func ValidateTicket(ticket string) error {
	switch {
	case ticket == "":
		return refuse(ErrInvalid, "a ticket is required")
	case !utf8.ValidString(ticket):
		return refuse(ErrInvalid, "the ticket is not UTF-8 text")
	case strings.ContainsFunc(ticket, lineOrControl):
		return refuse(ErrInvalid, "the ticket has a control character (a tab, a newline, …)")
	}
	if i := strings.IndexFunc(ticket, invisible); i >= 0 {
		r, _ := utf8.DecodeRuneInString(ticket[i:])
		return refuse(ErrInvalid, "the ticket has an invisible character (%U)", r)
	}
	if n := len(escapeSessionPart(ticket, true)); n > MaxTicketLength {
		return refuse(ErrInvalid, "the ticket is too long: at most %d characters as the session name writes it, and it takes %d "+
			"(letters, digits and _+,.@- take one each; any other character three per UTF-8 byte, \"ä\" six)",
			MaxTicketLength, n)
	}
	return nil
}

// SessionName is the RoleSessionName of engineer's session for ticket. It is what the customer's
// CloudTrail shows for every call the session makes (assumed-role/<role>/<session name>), so two
// different (engineer, ticket) pairs never share a name, and the ticket is always in it, whole.
//
// STS takes 2 to 64 characters of [\w+=,.@-]. The name is
//
//	<engineer>-<ticket>
//
// with each part escaped: a byte of its UTF-8 text that is an ASCII letter or digit or one of
// _ + , . @ stays as it is, and so does "-" in the ticket; every other byte ("=" itself, and "-" in
// the engineer, included) is written "=" and two upper-case hex digits. So ("alice@doit.com",
// "SUP-9") gives "alice@doit.com-SUP-9", "jean-luc@doit.com" gives "jean=2Dluc@doit.com" and
// "SUP-ä" gives "SUP-=C3=A4". The engineer part has no bare "-", so the first "-" ends it; the
// escaping is reversible, so the name spells out its pair.
//
// When the name would be over 64 characters, the engineer part is shortened to the escaped form of
// the longest start of the engineer, in whole characters, that fits, then "==" and the first 16
// characters of the lower-case base32 SHA-256 of the whole engineer identifier (80 bits); the
// ticket stays whole. "==" never occurs in an escaped part (every "=" there is followed by hex),
// so a shortened name never equals an unshortened one, and two shortened names for one ticket
// are equal only if two engineers' 80-bit hashes collide. A ticket is at most MaxTicketLength
// characters once escaped, so 13 characters of the name are always left for the engineer's start.
//
// SessionName refuses a ticket ValidateTicket refuses.
func SessionName(engineer, ticket string) (string, error) {
	if err := ValidateTicket(ticket); err != nil {
		return "", err
	}
	e, t := escapeSessionPart(engineer, false), escapeSessionPart(ticket, true)
	if len(e)+1+len(t) <= maxSessionName {
		return e + "-" + t, nil
	}
	room := maxSessionName - 1 - len(t) - len(shortenedMark) - engineerHashSize
	sum := sha256.Sum256([]byte(engineer))
	hash := strings.ToLower(base32.StdEncoding.EncodeToString(sum[:]))[:engineerHashSize]
	return escapedPrefix(engineer, room) + shortenedMark + hash + "-" + t, nil
}

// escapeSessionPart writes s in the session name's characters: letters, digits and _+,.@ stay
// (and "-" if keepHyphen), every other byte becomes "=XX".
func escapeSessionPart(s string, keepHyphen bool) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '_', c == '+', c == ',', c == '.', c == '@', c == '-' && keepHyphen:
			b.WriteByte(c)
		default:
			b.WriteByte('=')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		}
	}
	return b.String()
}

// escapedPrefix is the escaped form of the longest start of s, in whole characters (bytes of
// invalid UTF-8 count as one each), that is at most n characters long once escaped.
func escapedPrefix(s string, n int) string {
	var b strings.Builder
	for len(s) > 0 {
		_, size := utf8.DecodeRuneInString(s)
		e := escapeSessionPart(s[:size], false)
		if b.Len()+len(e) > n {
			break
		}
		b.WriteString(e)
		s = s[size:]
	}
	return b.String()
}
