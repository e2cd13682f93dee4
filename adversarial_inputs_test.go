package consul_test

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refusedCall is one call of the public API that must be refused with an
// *ArgumentError before anything is sent.
type refusedCall struct {
	name string
	call func(ctx context.Context, c *consul.Client) error
}

// requireRefused runs every call against a wire server and checks that
// each is refused with an *ArgumentError and that nothing was sent.
func requireRefused(t *testing.T, calls []refusedCall) {
	t.Helper()
	w, c := newWire(t)
	ctx := testCtx(t)
	for _, rc := range calls {
		err := rc.call(ctx, c)
		var ae *consul.ArgumentError
		assert.ErrorAs(t, err, &ae, "%s: want an *ArgumentError", rc.name)
		assert.Empty(t, w.requests(), "%s: nothing may be sent", rc.name)
		w.reset()
	}
}

// unprintableValues are values Consul's HTTP server refuses in a path with
// a 400 (go-cleanhttp's PrintablePathCheckHandler refuses any rune that is
// not unicode.IsPrint), and values that are not UTF-8, which Consul's JSON
// replaces with U+FFFD so that they never name what they name.
var unprintableValues = []string{
	"a\u00a0b", // no-break space
	"a\u0085b", // next line, a C1 control
	"a\u009bb", // CSI, a C1 control
	"a\u200bb", // zero width space
	"\ufeffa",  // byte order mark
	"a\u2028b", // line separator
	"a\u3000b", // ideographic space
	"a\u00adb", // soft hyphen
	"a\xffb",   // not UTF-8
	"a\xc3",    // a cut UTF-8 sequence
	"\xed\xa0\x80",
}

// TestAdversarialUnprintablePathValuesRefused: every path parameter and KV
// key holding a rune the agent refuses in a path, or bytes that are not
// UTF-8, is refused before sending, by the shared checks.
func TestAdversarialUnprintablePathValuesRefused(t *testing.T) {
	var calls []refusedCall
	for _, v := range unprintableValues {
		calls = append(calls,
			refusedCall{"KV.Get " + v, func(ctx context.Context, c *consul.Client) error {
				_, _, err := c.KV.Get(ctx, "app/"+v)
				return err
			}},
			refusedCall{"KV.Put " + v, func(ctx context.Context, c *consul.Client) error {
				return c.KV.Put(ctx, v+"/x", []byte("v"))
			}},
			refusedCall{"KV.ListKeys " + v, func(ctx context.Context, c *consul.Client) error {
				_, _, err := c.KV.ListKeys(ctx, v)
				return err
			}},
			refusedCall{"Txn KV get " + v, func(ctx context.Context, c *consul.Client) error {
				_, _, err := c.Txn.New().Get(v).Execute(ctx)
				return err
			}},
			refusedCall{"Catalog.ListServiceInstances " + v, func(ctx context.Context, c *consul.Client) error {
				_, _, err := c.Catalog.ListServiceInstances(ctx, v)
				return err
			}},
			refusedCall{"Session.Get " + v, func(ctx context.Context, c *consul.Client) error {
				_, _, err := c.Session.Get(ctx, v)
				return err
			}},
			refusedCall{"ACL.GetPolicy " + v, func(ctx context.Context, c *consul.Client) error {
				_, _, err := c.ACL.GetPolicy(ctx, v)
				return err
			}},
			refusedCall{"ACL.GetTemplatedPolicy " + v, func(ctx context.Context, c *consul.Client) error {
				_, _, err := c.ACL.GetTemplatedPolicy(ctx, "builtin/"+v)
				return err
			}},
			refusedCall{"Client.Do " + v, func(ctx context.Context, c *consul.Client) error {
				_, err := c.Do(ctx, &consul.Request{Route: "/v1/catalog/node/{node}", Args: []string{v}}, nil)
				return err
			}},
		)
	}
	requireRefused(t, calls)
}

// TestAdversarialUnprintablePathAgent shows, against a real agent, why the
// values above are refused (the agent answers 400 to any of them in a
// path, or stores a key it can never name back), and that the printable
// Unicode, spaces and punctuation around them still round-trip exactly.
func TestAdversarialUnprintablePathAgent(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	p := uniq(t, "kv")
	t.Cleanup(func() { _ = c.KV.DeleteTree(testCtx(t), p+"/") })

	// The agent itself refuses a non-printable rune in a path.
	for _, esc := range []string{"a%C2%A0b", "a%C2%85b", "a%E2%80%8Bb", "a%E2%80%A8b"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+srv.HTTPAddr+"/v1/kv/"+p+"/"+esc, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", esc)
	}

	// Printable text round-trips exactly, as a key and as a session's node
	// lookup (a 200 with an empty list, not a 400).
	for _, k := range []string{"café", "日本 語", "a\\b", "x?y#z", "a;b,c", "+-=&@:", "a..b", "a%zz", "100%", "é\u0301", "😀"} {
		key := p + "/" + k
		require.NoError(t, c.KV.Put(ctx, key, []byte(k)), "%q", k)
		pair, _, err := c.KV.Get(ctx, key)
		require.NoError(t, err, "%q", k)
		require.NotNil(t, pair, "%q", k)
		assert.Equal(t, key, pair.Key)
		assert.Equal(t, k, string(pair.Value))
		list, _, err := c.Session.ListByNode(ctx, k)
		require.NoError(t, err, "%q", k)
		assert.Empty(t, list)
	}
	for _, v := range unprintableValues {
		var ae *consul.ArgumentError
		require.ErrorAs(t, c.KV.Put(ctx, p+"/"+v, []byte("v")), &ae, "%q", v)
	}
	keys, _, err := c.KV.ListKeys(ctx, p+"/")
	require.NoError(t, err)
	for _, k := range keys {
		pair, _, err := c.KV.Get(ctx, k)
		require.NoError(t, err)
		require.NotNil(t, pair, "every listed key can be read back by its name: %q", k)
	}
}

// TestAdversarialKVKeysConsulRefuses: keys that Consul's own KV key
// validation refuses (with a 500: a leading or trailing space, an escape
// that unescapes to ".." or a space) or that an unescaping proxy would
// send to another key are refused before sending, on every KV route and in
// transactions; the keys next to them are sent as they are.
func TestAdversarialKVKeysConsulRefuses(t *testing.T) {
	refused := []string{
		" lead", "trail ", " ", "app/key ", " app/key",
		"app/%2e%2e", "app/%2E%2e/x", "a%2e%2eb", "app/..%2fx", "%2e%2e/x",
		"app/a%20b", "a%20", "app/%2e", "app/%2f%2fx", "%2fapp",
		"app/a%00b", "app/a%0ab", "app/a%C2%A0b",
	}
	var calls []refusedCall
	for _, k := range refused {
		calls = append(calls,
			refusedCall{"KV.Get " + k, func(ctx context.Context, c *consul.Client) error {
				_, _, err := c.KV.Get(ctx, k)
				return err
			}},
			refusedCall{"KV.Put " + k, func(ctx context.Context, c *consul.Client) error {
				return c.KV.Put(ctx, k, nil)
			}},
			refusedCall{"KV.List " + k, func(ctx context.Context, c *consul.Client) error {
				_, _, err := c.KV.List(ctx, k)
				return err
			}},
			refusedCall{"KV.DeleteTree " + k, func(ctx context.Context, c *consul.Client) error {
				return c.KV.DeleteTree(ctx, k)
			}},
			refusedCall{"KV.Acquire " + k, func(ctx context.Context, c *consul.Client) error {
				_, err := c.KV.Acquire(ctx, k, nil, "sess")
				return err
			}},
			refusedCall{"Txn KV set " + k, func(ctx context.Context, c *consul.Client) error {
				_, _, err := c.Txn.New().Set(k, nil).Execute(ctx)
				return err
			}},
		)
	}
	requireRefused(t, calls)

	// Their neighbours are sent, escaped segment by segment.
	w, c := newWire(t, reply{Body: "true"})
	ctx := testCtx(t)
	for k, esc := range map[string]string{
		"app/a b":   "/v1/kv/app/a%20b",
		"a /b":      "/v1/kv/a%20/b",
		"app/..x":   "/v1/kv/app/..x",
		"app/a%2fb": "/v1/kv/app/a%252fb",
		"100%":      "/v1/kv/100%25",
		"app/%zz":   "/v1/kv/app/%25zz",
	} {
		w.reset(reply{Body: "true"})
		require.NoError(t, c.KV.Put(ctx, k, []byte("v")), "%q", k)
		w.only(t).expect(t, http.MethodPut, esc, nil)
	}
}

// TestAdversarialKVKeysAgent: against a real agent, every key KV accepts
// round-trips to exactly itself, and none lands on another key.
func TestAdversarialKVKeysAgent(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	p := uniq(t, "kv")
	t.Cleanup(func() { _ = c.KV.DeleteTree(testCtx(t), p+"/") })
	require.NoError(t, c.KV.Put(ctx, p+"/x", []byte("good")))
	var stored []string
	for _, k := range []string{"a b", "a /b", "..x", "a%2fb", "100%", "%zz", "a%41"} {
		key := p + "/" + k
		require.NoError(t, c.KV.Put(ctx, key, []byte("v:"+k)), "%q", k)
		stored = append(stored, key)
		pair, _, err := c.KV.Get(ctx, key)
		require.NoError(t, err, "%q", k)
		require.NotNil(t, pair, "%q", k)
		assert.Equal(t, key, pair.Key)
		assert.Equal(t, "v:"+k, string(pair.Value))
	}
	for _, k := range []string{"%2e%2e/x", "a%20b", "x ", "%2e/x"} {
		var ae *consul.ArgumentError
		require.ErrorAs(t, c.KV.Put(ctx, p+"/"+k, []byte("evil")), &ae, "%q", k)
	}
	good, _, err := c.KV.Get(ctx, p+"/x")
	require.NoError(t, err)
	require.Equal(t, "good", string(good.Value))
	keys, _, err := c.KV.ListKeys(ctx, p+"/")
	require.NoError(t, err)
	assert.ElementsMatch(t, append(stored, p+"/x"), keys)
}

// reservedCalls are calls whose one path parameter equals the last segment
// of another of Consul's routes under the same parent: sent, they would
// reach that route (or its redirect) instead of the one they document.
func reservedCalls(v func(string) string) []refusedCall {
	return []refusedCall{
		{"ACL.GetToken self", func(ctx context.Context, c *consul.Client) error {
			_, _, err := c.ACL.GetToken(ctx, v("self"))
			return err
		}},
		{"ACL.UpdateToken self", func(ctx context.Context, c *consul.Client) error {
			_, err := c.ACL.UpdateToken(ctx, &consul.ACLToken{AccessorID: v("self")})
			return err
		}},
		{"ACL.DeleteToken self", func(ctx context.Context, c *consul.Client) error {
			return c.ACL.DeleteToken(ctx, v("self"))
		}},
		{"ACL.GetPolicy name", func(ctx context.Context, c *consul.Client) error {
			_, _, err := c.ACL.GetPolicy(ctx, v("name"))
			return err
		}},
		{"ACL.DeletePolicy name", func(ctx context.Context, c *consul.Client) error {
			return c.ACL.DeletePolicy(ctx, v("name"))
		}},
		{"ACL.GetRole name", func(ctx context.Context, c *consul.Client) error {
			_, _, err := c.ACL.GetRole(ctx, v("name"))
			return err
		}},
		{"Services.Get register", func(ctx context.Context, c *consul.Client) error {
			_, _, err := c.Services.Get(ctx, v("register"))
			return err
		}},
		{"Services.Get deregister", func(ctx context.Context, c *consul.Client) error {
			_, _, err := c.Services.Get(ctx, v("deregister"))
			return err
		}},
		{"Services.Get maintenance", func(ctx context.Context, c *consul.Client) error {
			_, _, err := c.Services.Get(ctx, v("maintenance"))
			return err
		}},
		{"Connect.GetIntention exact", func(ctx context.Context, c *consul.Client) error {
			_, _, err := c.Connect.GetIntention(ctx, v("exact"))
			return err
		}},
		{"Connect.GetIntention match", func(ctx context.Context, c *consul.Client) error {
			_, _, err := c.Connect.GetIntention(ctx, v("match"))
			return err
		}},
		{"Connect.DeleteIntention check", func(ctx context.Context, c *consul.Client) error {
			return c.Connect.DeleteIntention(ctx, v("check"))
		}},
		{"Connect.DeleteIntention exact", func(ctx context.Context, c *consul.Client) error {
			return c.Connect.DeleteIntention(ctx, v("exact"))
		}},
		{"Peering.Get token", func(ctx context.Context, c *consul.Client) error {
			_, _, err := c.Peering.Get(ctx, v("token"))
			return err
		}},
		{"Peering.Delete establish", func(ctx context.Context, c *consul.Client) error {
			return c.Peering.Delete(ctx, v("establish"))
		}},
		{"Client.Do self", func(ctx context.Context, c *consul.Client) error {
			_, err := c.Do(ctx, &consul.Request{Route: "/v1/acl/token/{id}", Args: []string{v("self")}}, nil)
			return err
		}},
		{"Client.Do name/x", func(ctx context.Context, c *consul.Client) error {
			_, err := c.Do(ctx, &consul.Request{Route: "/v1/acl/policy/{id}/x", Args: []string{v("name")}}, nil)
			return err
		}},
	}
}

// TestAdversarialReservedRouteValuesRefused: an ID or name that is the
// last segment of another route under the same parent ("self" for a token,
// "exact" for an intention...) is refused before sending, as it is or
// escaped (a proxy that unescapes the path would make "%73elf" "self").
func TestAdversarialReservedRouteValuesRefused(t *testing.T) {
	requireRefused(t, reservedCalls(func(s string) string { return s }))
	requireRefused(t, reservedCalls(func(s string) string { return "%" + strings.ToUpper(hex2(s[0])) + s[1:] }))

	// The same words are ordinary values where no route takes them.
	w, c := newWire(t, reply{Body: "{}"})
	ctx := testCtx(t)
	_, err := c.ACL.CloneToken(ctx, "self", "")
	require.NoError(t, err)
	w.only(t).expect(t, http.MethodPut, "/v1/acl/token/self/clone", nil)
	w.reset(reply{Body: "[]"})
	_, _, err = c.Catalog.ListServiceInstances(ctx, "self")
	require.NoError(t, err)
	w.only(t).expect(t, http.MethodGet, "/v1/catalog/service/self", nil)
	w.reset(reply{Body: "{}"})
	_, _, err = c.ACL.GetPolicyByName(ctx, "name")
	require.NoError(t, err)
	w.only(t).expect(t, http.MethodGet, "/v1/acl/policy/name/name", nil)
}

func hex2(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&15]})
}

// TestAdversarialReservedTokenSelfAgent: against an agent with ACLs, GET
// /v1/acl/token/self answers the caller's own token, secret included: the
// accessor ID "self" must not reach it through GetToken.
func TestAdversarialReservedTokenSelfAgent(t *testing.T) {
	srv := testACLAgent(t)
	c := newClient(t, srv, consul.Config{Token: srv.ManagementToken})
	ctx := testCtx(t)

	var own consul.ACLToken
	_, err := c.Do(ctx, &consul.Request{Route: "/v1/acl/token/self"}, &own)
	require.NoError(t, err)
	require.Equal(t, srv.ManagementToken, own.SecretID, "the route the value \"self\" would reach")

	tok, _, err := c.ACL.GetToken(ctx, "self")
	var ae *consul.ArgumentError
	require.ErrorAs(t, err, &ae)
	require.Nil(t, tok)
	require.NotContains(t, err.Error(), srv.ManagementToken)

	// An accessor ID that exists is read by it.
	got, _, err := c.ACL.GetToken(ctx, own.AccessorID)
	require.NoError(t, err)
	require.NotNil(t, got)
	require.Equal(t, own.AccessorID, got.AccessorID)
}

// TestReservedRoutesMatchConsulRoutes: the routes buildPath keeps path
// parameters from are exactly those of the route lists of every supported
// agent that sit right under the parent of a route with a parameter.
func TestReservedRoutesMatchConsulRoutes(t *testing.T) {
	var want []string
	for _, name := range []string{"testdata/consul-routes-1.19.2.txt", "testdata/consul-routes-1.22.7.txt"} {
		f, err := os.Open(name)
		require.NoError(t, err)
		routes := map[string]bool{}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			fields := strings.Fields(line)
			require.Len(t, fields, 2, "%s: %q", name, line)
			routes[fields[1]] = true
		}
		require.NoError(t, sc.Err())
		require.NoError(t, f.Close())
		require.NotEmpty(t, routes)
		for r := range routes {
			s := strings.TrimSuffix(r, "/")
			parent := s[:strings.LastIndexByte(s, '/')+1]
			if routes[parent] && !slices.Contains(want, r) {
				want = append(want, r)
			}
		}
	}
	assert.ElementsMatch(t, want, consul.ReservedRoutesForTest())
}

// TestAdversarialTokenSpacesRefused: a token with a leading or trailing
// space cannot travel as it is (the agent's HTTP server strips it from the
// header and checks another token): refused before sending, without the
// token in the error.
func TestAdversarialTokenSpacesRefused(t *testing.T) {
	const secret = "8f5c1c0e-2b7a-4c3e-9d1f-0123456789ab"
	for _, tok := range []string{" " + secret, secret + " ", " " + secret + " "} {
		w, c := newWire(t)
		_, _, err := c.KV.Get(testCtx(t), "app", consul.Token(tok))
		var ae *consul.ArgumentError
		require.ErrorAs(t, err, &ae)
		require.NotContains(t, err.Error(), secret)
		w.noRequest(t)

		_, err = consul.NewClient(consul.Config{Address: w.srv.URL, Token: tok})
		require.ErrorAs(t, err, &ae)
		require.NotContains(t, err.Error(), secret)
	}
	// The wire shows what such a token would have become.
	w, c := newWire(t, reply{Body: "[]"})
	_, _, err := c.KV.Get(testCtx(t), "app", consul.Token("in side"))
	require.NoError(t, err)
	require.Equal(t, "in side", w.only(t).Header.Get("X-Consul-Token"))
}
