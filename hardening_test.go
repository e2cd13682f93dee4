package consul_test

// Hardening of the client core found by review: tokens echoed where a
// redaction missed them, cut answers, sizes and counts at their limits.

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A token echoed several times, the last copy straddling the end of what
// statusError reads, must not leak: redacting the earlier copies shrinks
// the body and pulls the partial copy back under the 4 KiB cut.
func TestEchoedTokenCutAtErrorBodyLimitRedacted(t *testing.T) {
	const tok = "11111111-2222-4333-8444-555555555555" // 36 bytes
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		// statusError reads 4096+len(tok) = 4132 bytes: two whole copies,
		// then padding, then a copy of which only 35 bytes are read.
		head := tok + " " + tok + " "
		pad := strings.Repeat("x", 4096+len(tok)-(len(tok)-1)-len(head))
		fmt.Fprint(w, head+pad+tok+" trailing")
	}))
	defer srv.Close()
	c, err := consul.NewClient(consul.Config{Address: srv.URL, Token: tok})
	require.NoError(t, err)
	_, _, err = c.KV.Get(testCtx(t), "k")
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	for i := 8; i <= len(tok); i++ {
		require.NotContains(t, err.Error(), tok[:i], "token prefix of %d bytes leaked", i)
	}
}

// Backoff.Delay must stay within (0, Max] whatever n, even for a large Max.
func TestBackoffDelayNeverOverflows(t *testing.T) {
	b := consul.Backoff{Min: time.Second, Max: math.MaxInt64}
	for n := 1; n <= 100; n++ {
		d := b.Delay(n, nil)
		require.Greater(t, d, time.Duration(0), "n=%d", n)
	}
}

// Config.MaxConns is the most connections the client opens to one agent:
// 1 cannot hold a blocking read and a short call, and is refused.
func TestMaxConnsOneRefused(t *testing.T) {
	var mu sync.Mutex
	open, peak := 0, 0
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("index") {
			<-release
		}
		w.Header().Set("X-Consul-Default-ACL-Policy", "allow")
		w.Header().Set("X-Consul-Index", "7")
		fmt.Fprint(w, `"10.0.0.1:8300"`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch s {
		case http.StateNew:
			open++
			peak = max(peak, open)
		case http.StateClosed, http.StateHijacked:
			open--
		}
	}
	srv.Start()
	defer srv.Close()
	defer close(release)
	_, err := consul.NewClient(consul.Config{Address: srv.URL, MaxConns: 1})
	var ae *consul.ArgumentError
	require.ErrorAs(t, err, &ae, "one pool for blocking reads and one for the rest need two connections")
	// Two: never more than two at once, a blocking read held meanwhile.
	c, err := consul.NewClient(consul.Config{Address: srv.URL, MaxConns: 2})
	require.NoError(t, err)
	ctx := testCtx(t)
	go func() { _, _, _ = c.KV.Get(ctx, "k", consul.WaitIndex(7)) }()
	time.Sleep(200 * time.Millisecond)
	for range 5 {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, _, err = c.Status.Leader(sctx)
		cancel()
		require.NoError(t, err)
	}
	mu.Lock()
	defer mu.Unlock()
	require.LessOrEqual(t, peak, 2, "MaxConns 2")
}

// A server that echoes the token into a Meta header must not get it into
// the error (nor the logs): parseMeta quotes the malformed value.
func TestTokenEchoedInMalformedHeaderRedacted(t *testing.T) {
	const tok = "11111111-2222-4333-8444-555555555555"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Consul-Default-ACL-Policy", "allow")
		w.Header().Set("X-Consul-Index", r.Header.Get("X-Consul-Token"))
		fmt.Fprint(w, `"10.0.0.1:8300"`)
	}))
	defer srv.Close()
	c, err := consul.NewClient(consul.Config{Address: srv.URL, Token: tok})
	require.NoError(t, err)
	_, _, err = c.Status.Leader(testCtx(t))
	require.Error(t, err)
	require.NotContains(t, err.Error(), tok)
}

// Same leak through a decode error: a duration field holding the token.
func TestTokenEchoedInDecodeErrorRedacted(t *testing.T) {
	const tok = "11111111-2222-4333-8444-555555555555"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Consul-Default-ACL-Policy", "allow")
		w.Header().Set("X-Consul-Index", "5")
		fmt.Fprintf(w, `[{"ID":"x","TTL":%q}]`, r.Header.Get("X-Consul-Token"))
	}))
	defer srv.Close()
	c, err := consul.NewClient(consul.Config{Address: srv.URL, Token: tok})
	require.NoError(t, err)
	_, _, err = c.Session.List(testCtx(t))
	require.Error(t, err)
	require.NotContains(t, err.Error(), tok)
}

// A non-blocking read whose answer is cut short (the agent died mid-answer)
// failed in transport: Config.Retries says it is retried.
func TestReadCutShortIsRetried(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Consul-Default-ACL-Policy", "allow")
		if n.Add(1) == 1 || r.Method != http.MethodGet {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(200)
			fmt.Fprint(w, `["10.0.0.1:`)
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		fmt.Fprint(w, `["10.0.0.1:8300"]`)
	}))
	defer srv.Close()
	c, err := consul.NewClient(consul.Config{Address: srv.URL, Retries: 2})
	require.NoError(t, err)
	peers, _, err := c.Status.Peers(testCtx(t))
	require.NoError(t, err)
	require.Equal(t, []string{"10.0.0.1:8300"}, peers)
	require.Equal(t, int32(2), n.Load())
	// A write whose answer was cut reached the agent: never retried.
	n.Store(0)
	_, _, err = c.Txn.New().Set("k", []byte("v")).Execute(testCtx(t))
	require.Error(t, err)
	require.Equal(t, int32(1), n.Load(), "a write sent once")
	// A blocking read is not retried either: the watch above it decides.
	n.Store(0)
	_, _, err = c.KV.Get(testCtx(t), "k", consul.WaitIndex(3))
	require.Error(t, err)
	require.Equal(t, int32(1), n.Load(), "a blocking read sent once")
}

// A declared Content-Length under MaxResponseSize is allocated in full
// before a byte of the body arrives: headers alone cost the client 100 MiB.
func TestDeclaredLengthNotAllocatedUpFront(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Consul-Default-ACL-Policy", "allow")
		w.Header().Set("Content-Length", strconv.Itoa(100<<20))
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`[`))
		// then the connection drops
	}))
	defer srv.Close()
	c, err := consul.NewClient(consul.Config{Address: srv.URL})
	require.NoError(t, err)
	grew := heapGrowth(func() { _, _, _ = c.KV.List(testCtx(t), "a") })
	require.Less(t, grew, uint64(8<<20), "allocated %d bytes for a 1-byte answer", grew)
}

// TestFailoverUnderConcurrency: 50 goroutines, half of them in blocking
// reads, fail over from two dead agents to a live one: no call fails.
func TestFailoverUnderConcurrency(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Consul-Default-ACL-Policy", "allow")
		w.Header().Set("X-Consul-Index", "3")
		if r.URL.Query().Has("index") {
			time.Sleep(50 * time.Millisecond)
		}
		w.Write([]byte(`[{"Key":"a","Value":"YWJj"}]`))
	}))
	defer srv.Close()
	c, err := consul.NewClient(consul.Config{Address: retryTestDeadAddr(t), Fallbacks: []string{retryTestDeadAddr(t), srv.URL}, Retries: 2, Timeout: 2 * time.Second})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ctx := context.Background()
			for j := 0; j < 20; j++ {
				var err error
				if i%2 == 0 {
					_, _, err = c.KV.List(ctx, "a")
				} else {
					_, _, err = c.KV.List(ctx, "a", consul.WaitIndex(3), consul.WaitTime(time.Second))
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}(i)
	}
	wg.Wait()
}

// TestNullListAnswersAreEmpty: a list or map answered with null (by a
// proxy, say) is empty, never nil, as every list the library returns.
func TestNullListAnswersAreEmpty(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Consul-Default-ACL-Policy", "allow")
		w.Header().Set("X-Consul-Index", "5")
		fmt.Fprint(w, " null\n")
	}))
	defer srv.Close()
	c, err := consul.NewClient(consul.Config{Address: srv.URL})
	require.NoError(t, err)
	ctx := testCtx(t)
	nodes, _, err := c.Catalog.ListNodes(ctx)
	require.NoError(t, err)
	require.NotNil(t, nodes)
	require.Empty(t, nodes)
	services, _, err := c.Catalog.ListServices(ctx)
	require.NoError(t, err)
	require.NotNil(t, services)
	require.Empty(t, services)
	pairs, _, err := c.KV.List(ctx, "p")
	require.NoError(t, err)
	require.NotNil(t, pairs)
	require.Empty(t, pairs)
	entries, _, err := c.Health.ListServiceInstances(ctx, "web")
	require.NoError(t, err)
	require.NotNil(t, entries)
	// One object: null stays nil (not found).
	node, _, err := c.Catalog.GetNode(ctx, "n")
	require.NoError(t, err)
	require.Nil(t, node)
}

// TestMalformedHeaderOnErrorAnswerKeepsStatus: an error answer whose Meta
// headers do not parse is still the status error it is (a 403 stays
// permanent, a 404 of one object stays "not found").
func TestMalformedHeaderOnErrorAnswerKeepsStatus(t *testing.T) {
	var status atomic.Int32
	status.Store(403)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Consul-Default-ACL-Policy", "allow")
		w.Header().Set("X-Consul-Index", "not-a-number")
		w.WriteHeader(int(status.Load()))
		fmt.Fprint(w, "Permission denied")
	}))
	defer srv.Close()
	c, err := consul.NewClient(consul.Config{Address: srv.URL})
	require.NoError(t, err)
	ctx := testCtx(t)
	_, _, err = c.KV.Get(ctx, "k")
	require.ErrorIs(t, err, consul.ErrPermissionDenied)
	require.True(t, consul.IsPermanent(err))
	status.Store(404)
	pair, _, err := c.KV.Get(ctx, "k")
	require.NoError(t, err)
	require.Nil(t, pair)
}

// TestNilAndZeroValuesDoNotPanic: Close on a nil or zero value is a no-op,
// a nil client or read is an *ArgumentError, not a panic in a goroutine.
func TestNilAndZeroValuesDoNotPanic(t *testing.T) {
	var ae *consul.ArgumentError
	_, err := consul.NewKVCache(testCtx(t), nil, "p")
	require.ErrorAs(t, err, &ae)
	_, err = consul.NewHealthCache(testCtx(t), nil, consul.HealthCacheQuery{Service: "web"})
	require.ErrorAs(t, err, &ae)
	for _, err := range consul.Watch[[]string](testCtx(t), nil) {
		require.ErrorAs(t, err, &ae)
	}
	c := consul.NewCache[[]string](testCtx(t), nil)
	require.ErrorAs(t, c.WaitReady(testCtx(t)), &ae)
	c.Close()
	var zero consul.Cache[[]string]
	zero.Close()
	var none *consul.Cache[[]string]
	none.Close()
}

// TestWatchNeverPollsInATightLoop: a poll interval that is not positive,
// with no minimum interval, means the default poll interval, not reads as
// fast as the agent answers.
func TestWatchNeverPollsInATightLoop(t *testing.T) {
	var calls atomic.Int32
	read := func(context.Context, ...consul.Option) ([]string, *consul.Meta, error) {
		calls.Add(1)
		return nil, &consul.Meta{}, nil // no index: a route that cannot block
	}
	for _, d := range []time.Duration{0, -time.Second} {
		calls.Store(0)
		ctx, cancel := context.WithTimeout(testCtx(t), 300*time.Millisecond)
		for range consul.Watch(ctx, read, consul.WatchPollInterval(d), consul.WatchMinInterval(0)) {
		}
		cancel()
		require.LessOrEqual(t, calls.Load(), int32(2), "poll interval %s", d)
	}
}

// TestWatchCARootsAfterWipedRestart: an agent restarted with a wiped data
// directory replays its first writes, so the new CA's roots come back at
// the index of the old ones; the first answer after the failure is
// compared by value, and the new roots are yielded.
func TestWatchCARootsAfterWipedRestart(t *testing.T) {
	srv := consultest.NewServer(t, consultest.Config{})
	c := newClient(t, srv)
	ctx := testCtx(t)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type ev struct {
		id  string
		idx uint64
		err error
	}
	evs := make(chan ev, 1000)
	go func() {
		for u, err := range consul.Watch(wctx, c.Agent.CARoots,
			consul.WatchWait(2*time.Second), consul.WatchBackoff(100*time.Millisecond, 400*time.Millisecond)) {
			e := ev{err: err}
			if err == nil {
				e.id, e.idx = u.Value.ActiveRootID, u.Meta.Index
			}
			select {
			case evs <- e:
			default:
			}
		}
	}()
	first := <-evs
	require.NoError(t, first.err)
	require.NoError(t, srv.Kill())
	require.NoError(t, os.RemoveAll(srv.DataDir))
	require.NoError(t, srv.Start())
	now, meta, err := c.Agent.CARoots(ctx)
	require.NoError(t, err)
	require.NotEqual(t, first.id, now.ActiveRootID, "a new CA after the wipe")
	timeout := time.After(15 * time.Second)
	for {
		select {
		case e := <-evs:
			if e.err == nil && e.id == now.ActiveRootID {
				return
			}
		case <-timeout:
			t.Fatalf("the watch never yielded the new CA roots %s (index %d; before: %s index %d)",
				now.ActiveRootID, meta.Index, first.id, first.idx)
		}
	}
}

// TestTxnDeleteTreeRefusesEmptyPrefix: an empty prefix would delete the
// whole store; refused as KV.DeleteTree refuses it.
func TestTxnDeleteTreeRefusesEmptyPrefix(t *testing.T) {
	w, c := newWire(t, reply{Body: `{"Results":null,"Errors":null}`})
	// KV.DeleteTree refuses "": it would delete the whole store.
	require.Error(t, c.KV.DeleteTree(testCtx(t), ""))
	_, _, err := c.Txn.New().DeleteTree("").Execute(testCtx(t))
	var ae *consul.ArgumentError
	assert.ErrorAs(t, err, &ae, "Txn.DeleteTree(\"\") must be refused like KV.DeleteTree(\"\")")
	if len(w.requests()) > 0 {
		t.Errorf("sent %s", w.requests()[0].Body)
	}
}

// TestAddressUserinfoRefused: a user and password in the address are
// refused, without being echoed (they would reach failover logs, errors
// and traces); Config.HTTPAuth is the way.
func TestAddressUserinfoRefused(t *testing.T) {
	for _, a := range []string{"http://admin:s3cret@127.0.0.1:8500", "admin:s3cret@127.0.0.1:8500", "https://admin@h:1",
		"http://admin:s3/cret@127.0.0.1:8500", "http://admin:1234/s3cret@127.0.0.1:8500/consul"} {
		_, err := consul.NewClient(consul.Config{Address: a})
		var ae *consul.ArgumentError
		require.ErrorAs(t, err, &ae, a)
		assert.NotContains(t, err.Error(), "s3")
		assert.NotContains(t, err.Error(), "cret")
		assert.NotContains(t, err.Error(), "admin")
		_, err = consul.NewClient(consul.Config{Address: "127.0.0.1:8500", Fallbacks: []string{a}})
		require.ErrorAs(t, err, &ae, a)
		assert.NotContains(t, err.Error(), "cret")
		// From CONSUL_HTTP_ADDR, whose path becomes PathPrefix: a "/" in
		// the password must not split it there.
		t.Setenv("CONSUL_HTTP_ADDR", a)
		cfg, err := consul.ConfigFromEnv()
		require.NoError(t, err)
		assert.NotContains(t, cfg.PathPrefix, "cret", a)
		_, err = consul.NewClient(cfg)
		require.ErrorAs(t, err, &ae, a)
		assert.NotContains(t, err.Error(), "cret")
		assert.NotContains(t, err.Error(), "admin")
	}
}

// TestTokenRefusedAsQueryParameter: the token travels in the header only;
// as a query parameter (Param, Request.Params) it is refused before
// sending, and never echoed.
func TestTokenRefusedAsQueryParameter(t *testing.T) {
	w, c := newWire(t, reply{Status: 403, Body: `token s3cret denied`})
	var ae *consul.ArgumentError
	_, err := c.Do(testCtx(t), &consul.Request{Route: "/v1/acl/token/self", Params: map[string][]string{"Token": {"s3cret"}}}, nil)
	require.ErrorAs(t, err, &ae)
	assert.NotContains(t, err.Error(), "s3cret")
	_, _, err = c.KV.Get(testCtx(t), "k", consul.Param("token", "s3cret"))
	require.ErrorAs(t, err, &ae)
	assert.NotContains(t, err.Error(), "s3cret")
	require.Empty(t, w.requests(), "nothing sent")
}

// The consul CLI (api.NewClient) prefers CONSUL_HTTP_TOKEN_FILE over
// CONSUL_HTTP_TOKEN when both are set.
func TestEnvTokenFileWinsLikeConsulCLI(t *testing.T) {
	w, _ := newWire(t, reply{Body: `[]`})
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("file-token\n"), 0o600))
	t.Setenv("CONSUL_HTTP_ADDR", w.srv.URL)
	t.Setenv("CONSUL_HTTP_TOKEN", "env-token")
	t.Setenv("CONSUL_HTTP_TOKEN_FILE", tokenFile)
	cfg, err := consul.ConfigFromEnv()
	require.NoError(t, err)
	c, err := consul.NewClient(cfg)
	require.NoError(t, err)
	_, _, err = c.KV.Get(testCtx(t), "k")
	require.NoError(t, err)
	assert.Equal(t, "file-token", w.only(t).Header.Get("X-Consul-Token"))
}

// The consul CLI takes CONSUL_HTTP_ADDR=http://host:port/prefix as a
// reverse-proxy path prefix.
func TestEnvAddrWithPathPrefix(t *testing.T) {
	w, _ := newWire(t, reply{Body: `[]`})
	t.Setenv("CONSUL_HTTP_ADDR", w.srv.URL+"/consul")
	cfg, err := consul.ConfigFromEnv()
	require.NoError(t, err)
	c, err := consul.NewClient(cfg)
	require.NoError(t, err)
	_, _, err = c.KV.Get(testCtx(t), "k")
	require.NoError(t, err)
	assert.Equal(t, "/consul/v1/kv/k", w.only(t).Path)
}

// TestUnbracketedIPv6Refused: an IPv6 literal without brackets would be
// misdialled; bracketed ones, with a zone too, are accepted.
func TestUnbracketedIPv6Refused(t *testing.T) {
	for _, a := range []string{"::1", "2001:db8::1", "http://fe80::1"} {
		_, err := consul.NewClient(consul.Config{Address: a})
		assert.Error(t, err, "%q is an IPv6 literal without brackets: every call would fail or dial another host:port", a)
	}
	for _, a := range []string{"[::1]:8500", "http://[2001:db8::1]:8500", "[fe80::1%eth0]:8500"} {
		c, err := consul.NewClient(consul.Config{Address: a})
		require.NoError(t, err, a)
		require.NotEmpty(t, c.Address())
	}
}

// TestAddressPasswordWithPercentNotEchoed: a password that is not a valid
// URL escape never reaches an error.
func TestAddressPasswordWithPercentNotEchoed(t *testing.T) {
	c, err := consul.NewClient(consul.Config{Address: "http://admin:p%zzword@127.0.0.1:1"})
	if err != nil {
		assert.NotContains(t, err.Error(), "p%zzword")
		return
	}
	_, _, err = c.Status.Leader(testCtx(t))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "p%zzword")
}

// Ops returns the operations "as sent": mutating them must not bypass the
// builder's checks.
func TestTxnOpsDoNotAliasBuilder(t *testing.T) {
	w, c := newWire(t, reply{Body: `{"Results":[],"Errors":null}`})
	txn := c.Txn.New().Set("ok", []byte("v"))
	ops := txn.Ops()
	ops[0].KV.Key = "../../evil"
	_, _, err := txn.Execute(testCtx(t))
	require.NoError(t, err)
	assert.Contains(t, w.only(t).Body, `"Key":"ok"`)

	// However deep: a service's tags, metadata and proxy.
	svc := c.Txn.New().SetService("node-1", &consul.NodeService{ID: "web-1", Service: "web",
		Tags: []string{"v1"}, Meta: map[string]string{"m": "1"}, Proxy: &consul.ServiceProxy{}})
	before := svc.Ops()
	got := svc.Ops()
	got[0].Service.Service.Tags[0] = "evil"
	got[0].Service.Service.Meta["m"] = "evil"
	got[0].Service.Service.Proxy.Mode = "transparent"
	assert.Equal(t, before, svc.Ops())
}

// TestClientAgents: Agents lists every configured agent, Address first,
// and does not move with a failover.
func TestClientAgents(t *testing.T) {
	c, err := consul.NewClient(consul.Config{Address: "10.0.0.1:8500", Fallbacks: []string{"https://10.0.0.2:8501"}, PathPrefix: "consul"})
	require.NoError(t, err)
	require.Equal(t, []string{"http://10.0.0.1:8500/consul", "https://10.0.0.2:8501/consul"}, c.Agents())
	a := c.Agents()
	a[0] = "changed"
	require.Equal(t, "http://10.0.0.1:8500/consul", c.Agents()[0], "a copy")
}

// TestEchoedBodySecretsRedacted: secrets sent in a body (an agent token, a
// peering token, a gossip key) and echoed by the server are redacted from
// the error.
func TestEchoedBodySecretsRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "Invalid request: %s", body)
	}))
	defer srv.Close()
	c, err := consul.NewClient(consul.Config{Address: srv.URL})
	require.NoError(t, err)
	const agentToken = "8f3c2a10-1b2c-4d5e-9f00-aabbccddeeff"
	err = c.Agent.SetToken(testCtx(t), consul.AgentTokenDefault, agentToken)
	require.Error(t, err)
	require.NotContains(t, err.Error(), agentToken)
	const peering = "eyJDQSI6bnVsbCwiU2VydmVyQWRkcmVzc2VzIjpbXX0="
	err = c.Peering.Establish(testCtx(t), consul.PeeringEstablishRequest{PeerName: "p", PeeringToken: peering})
	require.Error(t, err)
	require.NotContains(t, err.Error(), peering)
	const gossipKey = "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s="
	for _, op := range []func() error{
		func() error { return c.Operator.InstallKey(testCtx(t), gossipKey) },
		func() error { return c.Operator.UseKey(testCtx(t), gossipKey) },
		func() error { return c.Operator.RemoveKey(testCtx(t), gossipKey) },
	} {
		err := op()
		require.Error(t, err)
		require.NotContains(t, err.Error(), gossipKey)
	}
	// Any body: a string under a secret-named field or key, however deep,
	// is redacted; words under names that only describe a secret are not.
	const svcToken, checkToken, sideToken = "svc-token-5b8e0c", "check-token-77a1", "sidecar-check-token-3c"
	const queryToken, vaultToken, privKey = "query-token-9d0f", "hvs.vault-token-e41", "-----BEGIN EC PRIVATE KEY-----abc"
	for _, tc := range []struct {
		op      func() error
		secrets []string
	}{
		{func() error {
			return c.Services.Register(testCtx(t), &consul.AgentServiceRegistration{
				Name: "web", Token: svcToken,
				Checks: []*consul.AgentCheckRegistration{{Name: "c", TTL: time.Minute, Token: checkToken}},
				Connect: &consul.AgentServiceConnect{SidecarService: &consul.AgentServiceRegistration{
					Checks: []*consul.AgentCheckRegistration{{Name: "s", TTL: time.Minute, Token: sideToken}}}},
			})
		}, []string{svcToken, checkToken, sideToken}},
		{func() error {
			return c.Checks.Register(testCtx(t), &consul.AgentCheckRegistration{Name: "c", TTL: time.Minute, Token: checkToken})
		}, []string{checkToken}},
		{func() error {
			_, err := c.Query.Create(testCtx(t), &consul.PreparedQuery{Name: "q", Token: queryToken, Service: consul.PreparedQueryService{Service: "web"}})
			return err
		}, []string{queryToken}},
		{func() error {
			return c.Connect.SetCAConfiguration(testCtx(t), &consul.ConnectCAConfig{Provider: "vault",
				Config: map[string]any{"Token": vaultToken, "PrivateKey": privKey, "PrivateKeyType": "ec", "Address": "http://vault:8200"}})
		}, []string{vaultToken, privKey}},
	} {
		err := tc.op()
		require.Error(t, err)
		for _, sec := range tc.secrets {
			require.NotContains(t, err.Error(), sec)
		}
	}
	err = c.Connect.SetCAConfiguration(testCtx(t), &consul.ConnectCAConfig{Provider: "vault",
		Config: map[string]any{"Token": vaultToken, "PrivateKeyType": "ec", "Address": "http://vault:8200"}})
	require.Error(t, err)
	require.Contains(t, err.Error(), `"PrivateKeyType":"ec"`, "a word under a name describing a secret is kept")
	require.Contains(t, err.Error(), "http://vault:8200")
}

// A query parameter that an Option sets on the route is refused as a
// Param, naming the Option: next to the client's default datacenter, a
// Param("dc", ...) would have been dropped by Consul without a word. Where
// no Option applies, Param still sends it.
func TestParamRefusesWhatAnOptionSets(t *testing.T) {
	w, c := newWireConfig(t, consul.Config{Datacenter: "dc1"}, reply{Body: `[]`})
	ctx := testCtx(t)
	for _, p := range []consul.Option{
		consul.Param("dc", "dc2"), consul.Param("DC", "dc2"), consul.Param("index", "5"), consul.Param("wait", "1s"),
		consul.Param("stale", ""), consul.Param("filter", "x"), consul.Param("ns", "n"),
	} {
		_, _, err := c.Catalog.ListServiceInstances(ctx, "web", p)
		var ae *consul.ArgumentError
		require.ErrorAs(t, err, &ae)
		require.Equal(t, "Param", ae.Arg)
	}
	_, _, err := c.Catalog.ListServiceInstances(ctx, "web", consul.Param("tag", "a"))
	require.ErrorContains(t, err, "use Tag")
	require.Empty(t, w.requests(), "nothing sent")

	// Route parameters of no Option, and parameters of an Option that
	// does not apply to the route, are still sent.
	_, _, err = c.Catalog.ListServiceInstances(ctx, "web", consul.Param("merge-central-config", ""))
	require.NoError(t, err)
	_, _, err = c.KV.Get(ctx, "k", consul.Param("tag", "a")) // Tag is not an option of KV.Get
	require.NoError(t, err)

	// A route option's parameter, and one the method sends itself (sent
	// first, so Consul would read it and drop the Param), are refused too.
	for _, call := range []func() error{
		func() error { _, _, err := c.Event.List(ctx, "deploy", consul.Param("name", "other")); return err },
		func() error { _, _, err := c.Members.List(ctx, consul.Param("wan", "1")); return err },
		func() error { _, err := c.KV.PutCAS(ctx, "k", nil, 5, consul.Param("cas", "0")); return err },
		func() error {
			_, err := c.Do(ctx, &consul.Request{Route: "/v1/kv/k", Params: url.Values{"x": {"1"}}}, nil, consul.Param("x", "2"))
			return err
		},
	} {
		var ae *consul.ArgumentError
		require.ErrorAs(t, call(), &ae)
		require.Equal(t, "Param", ae.Arg)
	}
	reqs := w.requests()
	require.Len(t, reqs, 2)
	require.Contains(t, reqs[0].Query, "merge-central-config")
	require.Equal(t, "dc1", reqs[0].Query.Get("dc"))
	require.Equal(t, "a", reqs[1].Query.Get("tag"))
}
