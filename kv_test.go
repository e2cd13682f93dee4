package consul_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const kvTestPairJSON = `[{"LockIndex":2,"Key":"app/a b","Flags":42,"Value":"aGVsbG8=","CreateIndex":10,"ModifyIndex":12,"Session":"s1"}]`

func TestKVGetWire(t *testing.T) {
	w, c := newWire(t, reply{
		Header: map[string]string{"X-Consul-Index": "12", "X-Consul-KnownLeader": "true", "X-Consul-LastContact": "7"},
		Body:   kvTestPairJSON,
	})
	pair, meta, err := c.KV.Get(testCtx(t), "app/a b", consul.Stale(), consul.Datacenter("dc2"),
		consul.WaitIndex(11), consul.WaitTime(30e9))
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/kv/app/a%20b", q("stale", "", "dc", "dc2", "index", "11", "wait", "30s"))
	assert.Equal(t, &consul.KVPair{Key: "app/a b", Flags: 42, Value: []byte("hello"), CreateIndex: 10,
		ModifyIndex: 12, LockIndex: 2, Session: "s1"}, pair)
	assert.Equal(t, uint64(12), meta.Index)
	assert.True(t, meta.KnownLeader)
	assert.Equal(t, int64(7), meta.LastContact.Milliseconds())
}

func TestKVGetMissingIsNilWithMeta(t *testing.T) {
	w, c := newWire(t, reply{Status: 404, Header: map[string]string{"X-Consul-Index": "99"}})
	pair, meta, err := c.KV.Get(testCtx(t), "nope")
	require.NoError(t, err)
	assert.Nil(t, pair)
	require.NotNil(t, meta)
	assert.Equal(t, uint64(99), meta.Index, "the 404's index is what a caller blocks on")
	w.only(t).expect(t, "GET", "/v1/kv/nope", nil)
}

// TestKVListMissingPrefixIsEmpty: Consul answers 404 for a prefix with no
// key under it; List and ListKeys return an empty, non-nil slice with the
// 404's Meta, as a list that finds nothing does everywhere.
func TestKVListMissingPrefixIsEmpty(t *testing.T) {
	w, c := newWire(t, reply{Status: 404, Header: map[string]string{"X-Consul-Index": "42"}})
	pairs, meta, err := c.KV.List(testCtx(t), "nope/")
	require.NoError(t, err)
	require.NotNil(t, pairs)
	assert.Empty(t, pairs)
	require.NotNil(t, meta)
	assert.Equal(t, uint64(42), meta.Index)
	w.only(t).expect(t, "GET", "/v1/kv/nope/", q("recurse", ""))

	w.reset(reply{Status: 404, Header: map[string]string{"X-Consul-Index": "43"}})
	keys, meta, err := c.KV.ListKeys(testCtx(t), "nope/")
	require.NoError(t, err)
	require.NotNil(t, keys)
	assert.Empty(t, keys)
	require.NotNil(t, meta)
	assert.Equal(t, uint64(43), meta.Index)
	w.only(t).expect(t, "GET", "/v1/kv/nope/", q("keys", ""))
}

func TestKVOtherRoutesWire(t *testing.T) {
	ctx := testCtx(t)
	cases := []struct {
		name  string
		reply string
		call  func(c *consul.Client) error
		meth  string
		path  string
		query url.Values
		body  string
	}{
		{"raw", "hello", func(c *consul.Client) error {
			v, _, err := c.KV.GetRaw(ctx, "k")
			assert.Equal(t, "hello", string(v))
			return err
		}, "GET", "/v1/kv/k", q("raw", ""), ""},
		{"list", kvTestPairJSON, func(c *consul.Client) error {
			v, _, err := c.KV.List(ctx, "app/")
			assert.Len(t, v, 1)
			return err
		}, "GET", "/v1/kv/app/", q("recurse", ""), ""},
		{"keys", `["app/a","app/b/"]`, func(c *consul.Client) error {
			v, _, err := c.KV.ListKeys(ctx, "app/", consul.Separator("/"))
			assert.Equal(t, []string{"app/a", "app/b/"}, v)
			return err
		}, "GET", "/v1/kv/app/", q("keys", "", "separator", "/"), ""},
		{"put", "true", func(c *consul.Client) error {
			return c.KV.Put(ctx, "k", []byte("v"), consul.Flags(7))
		}, "PUT", "/v1/kv/k", q("flags", "7"), "v"},
		{"cas", "true", func(c *consul.Client) error {
			ok, err := c.KV.PutCAS(ctx, "k", []byte("v"), 5)
			assert.True(t, ok)
			return err
		}, "PUT", "/v1/kv/k", q("cas", "5"), "v"},
		{"cas-false", "false", func(c *consul.Client) error {
			ok, err := c.KV.PutCAS(ctx, "k", []byte("v"), 5)
			assert.False(t, ok)
			return err
		}, "PUT", "/v1/kv/k", q("cas", "5"), "v"},
		{"acquire", "true", func(c *consul.Client) error {
			ok, err := c.KV.Acquire(ctx, "k", []byte("v"), "sess")
			assert.True(t, ok)
			return err
		}, "PUT", "/v1/kv/k", q("acquire", "sess"), "v"},
		{"release", "true", func(c *consul.Client) error {
			ok, err := c.KV.Release(ctx, "k", nil, "sess")
			assert.True(t, ok)
			return err
		}, "PUT", "/v1/kv/k", q("release", "sess"), ""},
		{"delete", "true", func(c *consul.Client) error {
			return c.KV.Delete(ctx, "k")
		}, "DELETE", "/v1/kv/k", nil, ""},
		{"delete-tree", "true", func(c *consul.Client) error {
			return c.KV.DeleteTree(ctx, "app/")
		}, "DELETE", "/v1/kv/app/", q("recurse", ""), ""},
		{"delete-cas", "true", func(c *consul.Client) error {
			ok, err := c.KV.DeleteCAS(ctx, "k", 9)
			assert.True(t, ok)
			return err
		}, "DELETE", "/v1/kv/k", q("cas", "9"), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, c := newWire(t, reply{Body: tc.reply})
			require.NoError(t, tc.call(c))
			s := w.only(t)
			s.expect(t, tc.meth, tc.path, tc.query)
			assert.Equal(t, tc.body, s.Body)
		})
	}
}

func TestKVKeyEscapingWire(t *testing.T) {
	w, c := newWire(t, reply{Body: "true"})
	key := "dir/a b/100%/what?/#frag/a+b/ключ"
	require.NoError(t, c.KV.Put(testCtx(t), key, []byte("v")))
	s := w.only(t)
	assert.Equal(t, "/v1/kv/"+key, s.Path, "the server must decode the exact key")
	assert.Equal(t, "/v1/kv/dir/a%20b/100%25/what%3F/%23frag/a+b/%D0%BA%D0%BB%D1%8E%D1%87", s.RawPath)
	assert.Empty(t, s.Query)
}

func TestKVRefusesBadInputBeforeSending(t *testing.T) {
	w, c := newWire(t, reply{Body: "true"})
	ctx := testCtx(t)
	big := make([]byte, consul.DefaultKVMaxValueSize+1)
	checks := []struct {
		arg string
		err error
	}{
		{"key", c.KV.Put(ctx, "", []byte("v"))},
		{"key", c.KV.Put(ctx, "/abs", []byte("v"))},
		{"key", c.KV.Put(ctx, "a//b", []byte("v"))},
		{"key", c.KV.Put(ctx, "a/../b", []byte("v"))},
		{"value", c.KV.Put(ctx, "k", big)},
		{"key", c.KV.Delete(ctx, "")},
		{"prefix", c.KV.DeleteTree(ctx, "")},
		{"session", func() error { _, err := c.KV.Acquire(ctx, "k", nil, ""); return err }()},
		{"key", func() error { _, _, err := c.KV.Get(ctx, ""); return err }()},
		{"key", func() error { _, _, err := c.KV.GetRaw(ctx, "/x"); return err }()},
		{"prefix", func() error { _, _, err := c.KV.List(ctx, "/x"); return err }()},
		{"wait", func() error { _, _, err := c.KV.Get(ctx, "k", consul.WaitTime(-1)); return err }()},
		{"consistency", func() error {
			_, _, err := c.KV.Get(ctx, "k", consul.WithConsistency(consul.Consistency(42)))
			return err
		}()},
	}
	for i, ch := range checks {
		var ae *consul.ArgumentError
		require.Truef(t, errors.As(ch.err, &ae), "check %d: want an ArgumentError, got %v", i, ch.err)
		assert.Equalf(t, ch.arg, ae.Arg, "check %d names the argument", i)
		assert.Containsf(t, ch.err.Error(), ch.arg, "check %d", i)
	}
	w.noRequest(t)
}

func TestKVIntegrationBasics(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	p := uniq(t, "kv")

	require.NoError(t, c.KV.Put(ctx, p+"/a", []byte("1"), consul.Flags(3)))
	pair, meta, err := c.KV.Get(ctx, p+"/a")
	require.NoError(t, err)
	require.NotNil(t, pair)
	assert.Equal(t, "1", string(pair.Value))
	assert.Equal(t, uint64(3), pair.Flags)
	assert.Equal(t, pair.ModifyIndex, meta.Index)
	assert.True(t, meta.KnownLeader)
	assert.Positive(t, meta.RequestTime)

	raw, _, err := c.KV.GetRaw(ctx, p+"/a")
	require.NoError(t, err)
	assert.Equal(t, "1", string(raw))

	missing, meta, err := c.KV.Get(ctx, p+"/missing")
	require.NoError(t, err)
	assert.Nil(t, missing)
	assert.NotZero(t, meta.Index)
	rawMissing, _, err := c.KV.GetRaw(ctx, p+"/missing")
	require.NoError(t, err)
	assert.Nil(t, rawMissing)

	// CAS: stale index fails, current succeeds, 0 only creates.
	ok, err := c.KV.PutCAS(ctx, p+"/a", []byte("2"), pair.ModifyIndex+1000)
	require.NoError(t, err)
	assert.False(t, ok)
	ok, err = c.KV.PutCAS(ctx, p+"/a", []byte("2"), pair.ModifyIndex)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = c.KV.PutCAS(ctx, p+"/a", []byte("3"), 0)
	require.NoError(t, err)
	assert.False(t, ok, "cas=0 must not overwrite an existing key")
	ok, err = c.KV.PutCAS(ctx, p+"/b", []byte("b"), 0)
	require.NoError(t, err)
	assert.True(t, ok)

	// Tree and keys.
	require.NoError(t, c.KV.Put(ctx, p+"/dir/c", []byte("c")))
	keys, _, err := c.KV.ListKeys(ctx, p+"/", consul.Separator("/"))
	require.NoError(t, err)
	assert.Equal(t, []string{p + "/a", p + "/b", p + "/dir/"}, keys)
	all, _, err := c.KV.List(ctx, p+"/")
	require.NoError(t, err)
	require.Len(t, all, 3)
	assert.Equal(t, "2", string(all[0].Value))

	// Delete CAS.
	cur, _, err := c.KV.Get(ctx, p+"/b")
	require.NoError(t, err)
	ok, err = c.KV.DeleteCAS(ctx, p+"/b", cur.ModifyIndex+1000)
	require.NoError(t, err)
	assert.False(t, ok)
	ok, err = c.KV.DeleteCAS(ctx, p+"/b", cur.ModifyIndex)
	require.NoError(t, err)
	assert.True(t, ok)

	require.NoError(t, c.KV.Delete(ctx, p+"/a"))
	gone, _, err := c.KV.Get(ctx, p+"/a")
	require.NoError(t, err)
	assert.Nil(t, gone)
	require.NoError(t, c.KV.Delete(ctx, p+"/never-existed"), "deleting a missing key is not an error")

	require.NoError(t, c.KV.DeleteTree(ctx, p+"/"))
	left, _, err := c.KV.List(ctx, p+"/")
	require.NoError(t, err)
	require.NotNil(t, left, "an empty list, not nil")
	assert.Empty(t, left)
	noKeys, _, err := c.KV.ListKeys(ctx, p+"/")
	require.NoError(t, err)
	require.NotNil(t, noKeys, "an empty list, not nil")
	assert.Empty(t, noKeys)
}

func TestKVAwkwardKeysRoundTrip(t *testing.T) {
	// Consul 1.21 alone refuses KV keys outside [a-zA-Z0-9,_./-?&=] unless
	// the agent disables its filter of unprintable characters (the other
	// versions take these keys as they are): an agent of its own, set so.
	srv := consultest.NewServer(t, consultest.Config{Extra: map[string]any{"disable_http_unprintable_char_filter": true}})
	c := newClient(t, srv)
	ctx := testCtx(t)
	p := uniq(t, "keys")
	keys := []string{
		p + "/with space",
		p + "/percent%25%",
		p + "/question?mark",
		p + "/hash#tag",
		p + "/plus+sign",
		p + "/unicode/ключ/键/🔑",
		p + "/deep/ly/nested/slashes/a/b/c/d",
		p + "/mixed ?#+%/é",
	}
	for _, k := range keys {
		require.NoError(t, c.KV.Put(ctx, k, []byte("v:"+k)), k)
	}
	for _, k := range keys {
		pair, _, err := c.KV.Get(ctx, k)
		require.NoError(t, err, k)
		require.NotNil(t, pair, k)
		assert.Equal(t, k, pair.Key)
		assert.Equal(t, "v:"+k, string(pair.Value))
	}
	got, _, err := c.KV.ListKeys(ctx, p+"/")
	require.NoError(t, err)
	want := append([]string(nil), keys...)
	sort.Strings(want)
	assert.Equal(t, want, got)

	tree, _, err := c.KV.List(ctx, p+"/")
	require.NoError(t, err)
	require.Len(t, tree, len(keys))
	for _, pair := range tree {
		assert.Equal(t, "v:"+pair.Key, string(pair.Value))
	}

	// A prefix with special characters lists only its own subtree.
	sub, _, err := c.KV.List(ctx, p+"/unicode/ключ/")
	require.NoError(t, err)
	require.Len(t, sub, 1)

	for _, k := range keys {
		require.NoError(t, c.KV.Delete(ctx, k), k)
		pair, _, err := c.KV.Get(ctx, k)
		require.NoError(t, err)
		assert.Nil(t, pair, k)
	}
}

func TestKVValueSizes(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	p := uniq(t, "size")

	require.NoError(t, c.KV.Put(ctx, p+"/empty", nil))
	pair, _, err := c.KV.Get(ctx, p+"/empty")
	require.NoError(t, err)
	require.NotNil(t, pair, "a 0-byte value is a key that exists")
	assert.Empty(t, pair.Value)
	raw, _, err := c.KV.GetRaw(ctx, p+"/empty")
	require.NoError(t, err)
	assert.NotNil(t, raw)
	assert.Empty(t, raw)

	big := bytes.Repeat([]byte{0, 1, 2, 0xff, 'x'}, (512<<10)/5+1)[:512<<10]
	require.NoError(t, c.KV.Put(ctx, p+"/big", big))
	pair, _, err = c.KV.Get(ctx, p+"/big")
	require.NoError(t, err)
	assert.Equal(t, big, pair.Value)
	raw, _, err = c.KV.GetRaw(ctx, p+"/big")
	require.NoError(t, err)
	assert.Equal(t, big, raw)

	err = c.KV.Put(ctx, p+"/too-big", append(big, 'x'))
	var ae *consul.ArgumentError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "value", ae.Arg)
	pair, _, err = c.KV.Get(ctx, p+"/too-big")
	require.NoError(t, err)
	assert.Nil(t, pair, "nothing may be written")

	// The agent agrees with our limit: one byte more is refused by Consul
	// too when the client is told a larger limit.
	loose := newClient(t, testAgent(t), consul.Config{KVMaxValueSize: 1 << 20})
	err = loose.KV.Put(ctx, p+"/too-big", append(big, 'x'))
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, http.StatusRequestEntityTooLarge, se.StatusCode)
	require.NoError(t, c.KV.DeleteTree(ctx, p+"/"))
}

func TestKVCASRace(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	key := uniq(t, "counter")
	require.NoError(t, c.KV.Put(ctx, key, []byte("0")))

	const workers, rounds = 20, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	var retries sync.Map
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				for attempt := 0; ; attempt++ {
					if attempt > 1000 {
						errs <- errors.New("too many CAS retries")
						return
					}
					pair, _, err := c.KV.Get(ctx, key)
					if err != nil {
						errs <- err
						return
					}
					n, err := strconv.Atoi(string(pair.Value))
					if err != nil {
						errs <- err
						return
					}
					ok, err := c.KV.PutCAS(ctx, key, []byte(strconv.Itoa(n+1)), pair.ModifyIndex)
					if err != nil {
						errs <- err
						return
					}
					if ok {
						break
					}
					retries.Store(w, attempt+1)
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	raw, _, err := c.KV.GetRaw(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, strconv.Itoa(workers*rounds), string(raw))
	contended := 0
	retries.Range(func(_, _ any) bool { contended++; return true })
	t.Logf("%d of %d workers had to retry a CAS", contended, workers)
	require.NoError(t, c.KV.Delete(ctx, key))
}

func TestKVLockReleasedWhenSessionDestroyed(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	key := uniq(t, "lock")

	holder, err := c.Session.Create(ctx, &consul.SessionEntry{Name: "holder", LockDelay: consul.NoLockDelay})
	require.NoError(t, err)
	other, err := c.Session.Create(ctx, &consul.SessionEntry{Name: "other", LockDelay: consul.NoLockDelay})
	require.NoError(t, err)
	defer c.Session.Destroy(ctx, other)

	ok, err := c.KV.Acquire(ctx, key, []byte("mine"), holder)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = c.KV.Acquire(ctx, key, []byte("theirs"), other)
	require.NoError(t, err)
	require.False(t, ok, "a held lock cannot be taken")
	ok, err = c.KV.Release(ctx, key, nil, other)
	require.NoError(t, err)
	require.False(t, ok, "only the holder releases")

	pair, _, err := c.KV.Get(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, holder, pair.Session)
	assert.Equal(t, uint64(1), pair.LockIndex)

	require.NoError(t, c.Session.Destroy(ctx, holder))
	pair, _, err = c.KV.Get(ctx, key)
	require.NoError(t, err)
	require.NotNil(t, pair, "behavior release keeps the key")
	assert.Empty(t, pair.Session, "destroying the session releases the lock")
	assert.Equal(t, "mine", string(pair.Value))

	ok, err = c.KV.Acquire(ctx, key, []byte("theirs"), other)
	require.NoError(t, err)
	assert.True(t, ok, "the released lock can be taken")
	ok, err = c.KV.Release(ctx, key, []byte("done"), other)
	require.NoError(t, err)
	assert.True(t, ok)
	require.NoError(t, c.KV.Delete(ctx, key))
}

func TestKVWithACLs(t *testing.T) {
	srv := testACLAgent(t)
	anon := newClient(t, srv)
	admin := newClient(t, srv, consul.Config{Token: srv.ManagementToken})
	ctx := testCtx(t)
	key := uniq(t, "secret")

	require.NoError(t, admin.KV.Put(ctx, key, []byte("s")))

	_, _, err := anon.KV.Get(ctx, key)
	require.ErrorIs(t, err, consul.ErrPermissionDenied)
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 403, se.StatusCode)

	err = anon.KV.Put(ctx, key, []byte("x"))
	require.ErrorIs(t, err, consul.ErrPermissionDenied)

	pair, meta, err := admin.KV.Get(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, "s", string(pair.Value))
	assert.Equal(t, "deny", meta.DefaultACLPolicy)

	// The per-call Token option works as the client's default does.
	pair, _, err = anon.KV.Get(ctx, key, consul.Token(srv.ManagementToken))
	require.NoError(t, err)
	assert.Equal(t, "s", string(pair.Value))

	// A wrong token is refused, and no error ever shows a token.
	bogus := "00000000-1111-2222-3333-444444444444"
	_, _, err = anon.KV.Get(ctx, key, consul.Token(bogus))
	require.ErrorIs(t, err, consul.ErrPermissionDenied)
	for _, e := range []error{err, anon.KV.Put(ctx, key, nil, consul.Token(bogus))} {
		require.Error(t, e)
		assert.NotContains(t, e.Error(), bogus)
		assert.NotContains(t, e.Error(), srv.ManagementToken)
	}
	// A listing is filtered, not refused. (Consul answers the emptied list
	// with a 404 whose X-Consul-Results-Filtered-By-ACLs header it drops, so
	// only the empty result can be checked here; the header's parsing has
	// its own wire test.)
	keys, _, err := anon.KV.ListKeys(ctx, "")
	require.NoError(t, err)
	assert.Empty(t, keys)
	require.NoError(t, admin.KV.Delete(ctx, key))
}

func TestKVTokenOnlyInHeaderWire(t *testing.T) {
	w, c := newWireConfig(t, consul.Config{Token: "secret-token"}, reply{Status: 403, Body: "Permission denied"})
	_, _, err := c.KV.Get(testCtx(t), "k")
	require.ErrorIs(t, err, consul.ErrPermissionDenied)
	s := w.only(t)
	assert.Equal(t, "secret-token", s.Header.Get("X-Consul-Token"))
	assert.Empty(t, s.Query.Get("token"))
	assert.NotContains(t, err.Error(), "secret-token")
	assert.True(t, strings.HasPrefix(err.Error(), "consul: GET /v1/kv/k: 403"), err.Error())
}

// TestKVTreeWithSeparatorAsTheSeed: aioconsul's get_tree and delete_tree
// with separator="/" (its documentation's own example) work against a
// real agent: the separator is sent, and Consul ignores it with recurse.
func TestKVTreeWithSeparatorAsTheSeed(t *testing.T) {
	w, wc := newWire(t, reply{Body: "[]"}, reply{Body: "true"})
	_, _, err := wc.KV.List(testCtx(t), "my/key", consul.Separator("/"))
	require.NoError(t, err)
	require.NoError(t, wc.KV.DeleteTree(testCtx(t), "my/key", consul.Separator("/")))
	reqs := w.requests()
	require.Len(t, reqs, 2)
	reqs[0].expect(t, "GET", "/v1/kv/my/key", q("recurse", "", "separator", "/"))
	reqs[1].expect(t, "DELETE", "/v1/kv/my/key", q("recurse", "", "separator", "/"))

	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	base := t.Name() + "/my/key"
	for _, k := range []string{base, base + "/a", base + "/b/c"} {
		require.NoError(t, c.KV.Put(ctx, k, []byte("v")))
	}
	tree, _, err := c.KV.List(ctx, base, consul.Separator("/"))
	require.NoError(t, err)
	require.Len(t, tree, 3, "the whole tree")
	require.NoError(t, c.KV.DeleteTree(ctx, base, consul.Separator("/")))
	left, _, err := c.KV.ListKeys(ctx, t.Name()+"/")
	require.NoError(t, err)
	require.Empty(t, left)
}
