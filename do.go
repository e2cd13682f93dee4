package consul

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Request is one call of any route of the HTTP API for Client.Do: a route
// this package has no method for, or an Enterprise route.
type Request struct {
	// Method is the HTTP method; empty means GET. A GET is a read: the
	// consistency, blocking and cache options apply to it, and with
	// WaitIndex or WaitHash it blocks.
	Method string
	// Route is the path, starting with "/v1/", with a "{name}" placeholder
	// for each path parameter, e.g. "/v1/namespace/{name}". The literal
	// parts must be clean: no "." or ".." segment, no empty segment, no
	// query or fragment, nothing that needs escaping.
	Route string
	// Args fill Route's placeholders in order. Each is one path segment,
	// refused and escaped like every ID and name this package sends (see
	// the package documentation): a value cannot change the route.
	Args []string
	// Params are the route's own query parameters, sent in key order before
	// the options' ones; an empty value sends a bare key (?recurse).
	Params url.Values
	// Body is nil, a []byte (sent as is), an io.Reader (streamed, so the
	// call is never replayed) or any other value, encoded as JSON.
	Body any
	// Optional applies the 404 rule to a read of one object: when Consul
	// answers 404, Do returns its Meta and a nil error and leaves out
	// untouched.
	Optional bool
}

// Do sends req through the client's pipeline, as every method of this
// package does: the token and the client's defaults, the Options (all of
// them apply, since the route is the caller's), the Meta headers, the
// typed errors, the retries and failover where they are safe, the timeout
// and the answer size limit. The answer is decoded into out: nil discards
// it, a *[]byte receives it raw, anything else is decoded from JSON.
//
//	var ns struct{ Name, Description string }
//	meta, err := client.Do(ctx, &consul.Request{Route: "/v1/namespace/{name}", Args: []string{"team-a"}, Optional: true}, &ns)
//
// A Route or Args that cannot be sent as they are is refused with an
// *ArgumentError before anything is sent.
func (c *Client) Do(ctx context.Context, req *Request, out any, opts ...Option) (*Meta, error) {
	if req == nil {
		return nil, argError("req", "nil")
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	if !validMethod(method) {
		return nil, argError("Request.Method", "%q is not an HTTP method", method)
	}
	if err := checkRoute(req.Route, len(req.Args)); err != nil {
		return nil, err
	}
	path, err := buildPath(req.Route, req.Args...)
	if err != nil {
		return nil, err
	}
	var ps []param
	if len(req.Params) > 0 {
		keys := make([]string, 0, len(req.Params))
		for k := range req.Params {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if strings.EqualFold(k, "token") {
				return nil, argError("Request.Params", "the token is not a query parameter: use Token() or Config.Token")
			}
			vs := req.Params[k]
			if len(vs) == 0 {
				ps = append(ps, param{k, ""})
			}
			for _, v := range vs {
				ps = append(ps, param{k, v})
			}
		}
	}
	e := &endpoint{
		name:       "Client.Do",
		method:     method,
		route:      req.Route,
		opts:       oAll,
		read:       method == http.MethodGet,
		notFoundOK: req.Optional,
	}
	return c.call(ctx, e, path, ps, req.Body, opts, out)
}

func validMethod(m string) bool {
	for i := 0; i < len(m); i++ {
		if c := m[i]; c < 'A' || c > 'Z' {
			return false
		}
	}
	return m != ""
}

// checkRoute refuses a route template whose literal parts would not reach
// the route as written, or whose placeholders do not match the arguments.
func checkRoute(route string, nargs int) error {
	if !strings.HasPrefix(route, "/v1/") {
		return argError("Request.Route", "%q does not start with /v1/", route)
	}
	n := 0
	for _, seg := range strings.Split(route[1:], "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") && len(seg) > 2 &&
			!strings.ContainsAny(seg[1:len(seg)-1], "{}") {
			n++
			continue
		}
		switch {
		case seg == "" || seg == "." || seg == "..":
			return argError("Request.Route", "%q has an empty, \".\" or \"..\" segment", route)
		case url.PathEscape(seg) != seg || strings.ContainsAny(seg, "{}"):
			return argError("Request.Route", "segment %q of %q must be sent escaped: pass it in Args", seg, route)
		}
	}
	if n != nargs {
		return argError("Request.Args", "%d arguments for the %d placeholders of %q", nargs, n, route)
	}
	return nil
}
