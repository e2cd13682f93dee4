package consul

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
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
//   - any other rune that is not printable (unicode.IsPrint: C1 controls
//     such as U+0085, format characters such as U+200B and U+FEFF, spaces
//     other than the ASCII one such as U+00A0 and U+2028): Consul's HTTP
//     server answers 400 to a path that holds one (go-cleanhttp's
//     PrintablePathCheckHandler), before any handler sees it;
//   - bytes that are not valid UTF-8: Consul's JSON answers, and the JSON
//     bodies that create IDs and names, replace them with U+FFFD, so such
//     a value never names what it names on the agent;
//   - a value that names another route of Consul's under the same parent
//     (reservedRoutes), such as the accessor ID "self" (GET
//     /v1/acl/token/self reads the caller's own token) or the intention ID
//     "exact";
//   - a value that unescapes once (url.PathUnescape) to any of the above,
//     such as "%2e%2e" or "a%2fb". buildPath escapes '%', so Consul itself
//     sees these as the literal text "%2e%2e"; a reverse proxy that
//     unescapes the path before forwarding (Config.PathPrefix) would turn
//     them into a dot segment or a '/'. No Consul name holds an escape.
//
// Everything else is escaped with url.PathEscape and sent, so names with
// spaces, '?', '#', '%' (not followed by an escape that decodes to one of
// the above), '\\' or any printable Unicode text reach their own route. A backslash
// is an ordinary byte to Consul's server (neither Go's ServeMux nor
// Consul treats it as a separator), so it is kept and sent as %5C.
//
// KV keys are whole paths: kvPath escapes them segment by segment, and
// checkKey refuses keys with an empty inner segment, a "." or ".."
// segment, a leading '/', a rune that is not printable or bytes that are
// not UTF-8 (as above), and what Consul 1.22's own key validation refuses
// (see checkKey). A KV key may hold '%' sequences such as "%41" or "100%":
// they are escaped ('%' becomes %25), Consul unescapes them once back to
// the literal key, and they never change the route; an escape that
// unescapes to "..", a space, a "." or empty segment or a character
// refused above is refused, as Consul 1.22 and an unescaping proxy would
// read the key otherwise.
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
		last := end+1 == len(rest) // nothing of the route follows the value
		var err error
		if name, multi := strings.CutSuffix(arg, "..."); multi {
			err = writeSegments(&b, name, v, last)
		} else {
			err = writeSegment(&b, arg, v, last)
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

// writeSegment checks v as one path segment and writes it escaped. last
// says that v ends the path.
func writeSegment(b *strings.Builder, arg, v string, last bool) error {
	if v == "" {
		return argError(arg, "empty")
	}
	if fault := checkSegment(b.String(), v, last); fault != "" {
		return argError(arg, "%s", fault)
	}
	b.WriteString(url.PathEscape(v))
	return nil
}

// writeSegments checks each '/'-separated segment of v and writes them
// escaped, separated by '/'. last says that v ends the path.
func writeSegments(b *strings.Builder, arg, v string, last bool) error {
	if v == "" {
		return argError(arg, "empty")
	}
	for k, rest := 0, v; ; k++ {
		seg, after, more := strings.Cut(rest, "/")
		if seg == "" {
			return argError(arg, "%q has an empty segment", v)
		}
		if k > 0 {
			b.WriteByte('/')
		}
		if fault := checkSegment(b.String(), seg, last && !more); fault != "" {
			return argError(arg, "%q: segment %s", v, fault)
		}
		b.WriteString(url.PathEscape(seg))
		if !more {
			return nil
		}
		rest = after
	}
}

// checkSegment checks the non-empty segment v that follows parent (the
// escaped path written so far, ending in '/'), as it is and unescaped
// once, and says why it cannot be sent (quoting v), or "". last says that
// v ends the path.
func checkSegment(parent, v string, last bool) string {
	fault := segmentFault(v)
	if fault == "" {
		fault = reservedFault(parent, v, last)
	}
	if fault != "" {
		return fmt.Sprintf("%q %s", v, fault)
	}
	if strings.IndexByte(v, '%') < 0 {
		return ""
	}
	d, err := url.PathUnescape(v)
	if err != nil || d == v {
		return ""
	}
	if fault = segmentFault(d); fault == "" {
		fault = reservedFault(parent, d, last)
	}
	if fault != "" {
		return fmt.Sprintf("%q unescapes to %q, which %s", v, d, fault)
	}
	return ""
}

// segmentFault says why a non-empty s cannot be one path segment, or "".
func segmentFault(s string) string {
	if s == "." || s == ".." {
		return "is a dot segment"
	}
	if strings.IndexByte(s, '/') >= 0 {
		return "contains '/'"
	}
	if _, fault := textFault(s); fault != "" {
		return fault
	}
	return ""
}

// textFault returns the byte index of the first thing in s that Consul's
// HTTP server cannot take in a path as it is, and says what it is (a
// control character, a rune that is not printable, bytes that are not
// UTF-8); or -1 and "".
func textFault(s string) (int, string) {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if isControl(c) {
				return i, "contains a control character"
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return i, "is not valid UTF-8"
		case !unicode.IsPrint(r):
			return i, fmt.Sprintf("contains the non-printable rune %U", r)
		}
		i += size
	}
	return -1, ""
}

// reservedRoutes are the routes of Consul's that sit right under the
// parent of another route's path parameter, where a parameter of the same
// text would land (the routes of consul-routes-*.txt, a test checks): by
// the parent (escaped, as buildPath writes it) and the value. An exact
// route takes the value only when it ends the path (GET
// /v1/acl/token/self); a subtree route (ending in '/' in the route lists)
// whatever follows (GET /v1/acl/policy/name redirects to
// /v1/acl/policy/name/).
var reservedRoutes = map[string][]reservedRoute{
	"/v1/acl/policy/":         {{"name", true}},
	"/v1/acl/role/":           {{"name", true}},
	"/v1/acl/token/":          {{"self", false}},
	"/v1/agent/service/":      {{"deregister", true}, {"maintenance", true}, {"register", false}},
	"/v1/connect/intentions/": {{"check", false}, {"exact", false}, {"match", false}},
	"/v1/peering/":            {{"establish", false}, {"token", false}},
}

// reservedRoute is a route of reservedRoutes: its last segment, and
// whether it is a subtree.
type reservedRoute struct {
	name    string
	subtree bool
}

// reservedFault says why v, written after parent, would reach another
// route (see reservedRoutes), or "". last says that v ends the path.
func reservedFault(parent, v string, last bool) string {
	for _, r := range reservedRoutes[parent] {
		if r.name == v && (r.subtree || last) {
			return "names the route " + parent + v + ", not a value of the parameter"
		}
	}
	return ""
}

// isControl reports whether c is an ASCII control character.
func isControl(c byte) bool { return c < 0x20 || c == 0x7f }
