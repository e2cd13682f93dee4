package consul

import (
	"net/url"
	"strings"
)

// Path parameters.
//
// Every ID, name or kind that goes into a route's path goes through
// buildPath, so that no value can change the route: Consul's HTTP server
// unescapes the path once and cleans it before routing, and its handlers
// cut the parameter off the unescaped path (strings.TrimPrefix), so an ID
// of "..", "../token/self" or "x/clone" (escaped or not) would reach
// another route with the caller's token. A path parameter is one segment
// and buildPath refuses, with an *ArgumentError naming the argument and
// before anything is sent:
//
//   - "" (Consul would serve the list or another route);
//   - "." and ".." (the server resolves them to the parent route);
//   - any '/' (escaping it does not help: Consul unescapes %2F before
//     routing, and cuts the parameter after that);
//   - ASCII control characters, 0x00-0x1f and 0x7f (no Consul ID or name
//     holds one; Consul would store or match them as they are, and logs
//     and proxies mangle them);
//   - a value that unescapes once (url.PathUnescape) to any of the above,
//     such as "%2e%2e" or "a%2fb". buildPath escapes '%', so Consul itself
//     sees these as the literal text "%2e%2e"; a reverse proxy that
//     unescapes the path before forwarding (Config.PathPrefix) would turn
//     them into a dot segment or a '/'. No Consul name holds an escape.
//
// Everything else is escaped with url.PathEscape and sent, so names with
// spaces, '?', '#', '%' (not followed by an escape that decodes to one of
// the above), '\\' or any Unicode text reach their own route. A backslash
// is an ordinary byte to Consul's server (neither Go's ServeMux nor
// Consul treats it as a separator), so it is kept and sent as %5C.
//
// KV keys are whole paths: kvPath escapes them segment by segment, and
// checkKey refuses keys with an empty inner segment, a "." or ".."
// segment, a leading '/' or a control character. A KV key may hold '%'
// sequences such as "%2e%2e": they are escaped ('%' becomes %25), Consul
// unescapes them once back to the literal key, and they never change the
// route.
//
// Parameters sent in the query string (Raft peer IDs and addresses,
// intention sources and destinations, filters...) are escaped with
// url.QueryEscape: nothing in them can change the route, so they are sent
// as given and Consul judges them.

// buildPath fills the placeholders of route with args, in order, and
// returns the escaped path. A placeholder is "{arg}", where arg is the name
// an *ArgumentError gives (such as "accessorID" or "token.AccessorID"): its
// value is one path segment, checked by the rules above. A placeholder
// "{arg...}" takes a value of one or more segments separated by '/' (a
// templated policy name such as "builtin/service"); each segment follows
// the same rules. A route whose placeholders do not match args is a bug of
// the library: buildPath panics.
func buildPath(route string, args ...string) (string, error) {
	n := len(route)
	for _, a := range args {
		n += len(a)
	}
	var b strings.Builder
	b.Grow(n)
	i := 0
	for rest := route; ; {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			b.WriteString(rest)
			break
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			panic("consul: buildPath: unclosed placeholder in " + route)
		}
		end += open
		if i >= len(args) {
			panic("consul: buildPath: too few arguments for " + route)
		}
		b.WriteString(rest[:open])
		arg, v := rest[open+1:end], args[i]
		i++
		var err error
		if name, multi := strings.CutSuffix(arg, "..."); multi {
			err = writeSegments(&b, name, v)
		} else {
			err = writeSegment(&b, arg, v)
		}
		if err != nil {
			return "", err
		}
		rest = rest[end+1:]
	}
	if i != len(args) {
		panic("consul: buildPath: too many arguments for " + route)
	}
	return b.String(), nil
}

// writeSegment checks v as one path segment and writes it escaped.
func writeSegment(b *strings.Builder, arg, v string) error {
	if v == "" {
		return argError(arg, "empty")
	}
	if fault := segmentFault(v); fault != "" {
		return argError(arg, "%q %s", v, fault)
	}
	if fault, d := unescapedFault(v); fault != "" {
		return argError(arg, "%q unescapes to %q, which %s", v, d, fault)
	}
	b.WriteString(url.PathEscape(v))
	return nil
}

// writeSegments checks each '/'-separated segment of v and writes them
// escaped, separated by '/'.
func writeSegments(b *strings.Builder, arg, v string) error {
	if v == "" {
		return argError(arg, "empty")
	}
	for k, rest := 0, v; ; k++ {
		seg, after, more := strings.Cut(rest, "/")
		if seg == "" {
			return argError(arg, "%q has an empty segment", v)
		}
		if fault := segmentFault(seg); fault != "" {
			return argError(arg, "%q: segment %q %s", v, seg, fault)
		}
		if fault, d := unescapedFault(seg); fault != "" {
			return argError(arg, "%q: segment %q unescapes to %q, which %s", v, seg, d, fault)
		}
		if k > 0 {
			b.WriteByte('/')
		}
		b.WriteString(url.PathEscape(seg))
		if !more {
			return nil
		}
		rest = after
	}
}

// segmentFault says why a non-empty s cannot be one path segment, or "".
func segmentFault(s string) string {
	if s == "." || s == ".." {
		return "is a dot segment"
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '/':
			return "contains '/'"
		case isControl(c):
			return "contains a control character"
		}
	}
	return ""
}

// unescapedFault applies segmentFault to s unescaped once, and says why
// that is not one segment ("" when it is, or when s holds no valid escape).
// It returns the unescaped text too.
func unescapedFault(s string) (string, string) {
	if strings.IndexByte(s, '%') < 0 {
		return "", ""
	}
	d, err := url.PathUnescape(s)
	if err != nil || d == s {
		return "", ""
	}
	return segmentFault(d), d
}

// isControl reports whether c is an ASCII control character.
func isControl(c byte) bool { return c < 0x20 || c == 0x7f }

// controlIndex returns the index of the first ASCII control character of
// s, or -1.
func controlIndex(s string) int {
	for i := 0; i < len(s); i++ {
		if isControl(s[i]) {
			return i
		}
	}
	return -1
}
