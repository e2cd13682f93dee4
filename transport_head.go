package consul

import (
	"bytes"
	"net/http"
	"strings"
)

// parseHead parses the status line and the header fields of an answer
// when b holds them whole, up to the empty line, in the plain form agents
// write: CRLF line ends, no folded or indented line, field names of
// letters, digits and '-', values without control characters (a tab
// aside). It returns the status line, the header (names canonical, values
// trimmed, as textproto's ReadMIMEHeader returns them) and the length of
// the head. All of them are cut from one string: a few allocations per
// answer where textproto makes one per value and per uncommon name.
//
// Anything else is ok=false, with nothing consumed: the caller reads the
// head with textproto, which then decides, and reports any error.
func parseHead(b []byte) (line string, h http.Header, n int, ok bool) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return "", nil, 0, false
	}
	head := string(b[:end+2]) // every line with its CRLF
	i := strings.Index(head, "\r\n")
	line = head[:i]
	if strings.ContainsAny(line, "\r\n") {
		return "", nil, 0, false
	}
	rest := head[i+2:]
	lines := strings.Count(rest, "\r\n")
	h = make(http.Header, lines)
	vals := make([]string, lines)
	used := 0
	for rest != "" {
		j := strings.Index(rest, "\r\n")
		l := rest[:j]
		rest = rest[j+2:]
		colon := strings.IndexByte(l, ':')
		if colon <= 0 {
			return "", nil, 0, false
		}
		key, v := l[:colon], l[colon+1:]
		if !plainHeaderName(key) || !validWireText(v, true) {
			return "", nil, 0, false
		}
		// A canonical name (Go servers, Consul's among them, write them)
		// comes back as it is, without an allocation.
		key = http.CanonicalHeaderKey(key)
		v = strings.Trim(v, " \t")
		if vv, dup := h[key]; dup {
			h[key] = append(vv, v)
			continue
		}
		vals[used] = v
		h[key] = vals[used : used+1 : used+1]
		used++
	}
	return line, h, end + 4, true
}

// plainHeaderName reports whether s is a non-empty field name of letters,
// digits and '-' only (a subset of the token characters, which
// canonicalizes the same way everywhere).
func plainHeaderName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return s != ""
}
