package grpcresolver_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/goconsul/consul/discovery"
	"github.com/goconsul/consul/grpcresolver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/serviceconfig"
)

var (
	agentOnce   sync.Once
	sharedAgent *consultest.Server
	agentErr    error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedAgent != nil {
		if code != 0 {
			fmt.Fprintf(os.Stderr, "log of the shared agent:\n%s\n", sharedAgent.LogTail(100))
		}
		sharedAgent.Close()
	}
	os.Exit(code)
}

func testAgent(t testing.TB) *consultest.Server {
	t.Helper()
	agentOnce.Do(func() { sharedAgent, agentErr = consultest.Start(consultest.Config{}) })
	if agentErr != nil {
		t.Fatal(agentErr)
	}
	return sharedAgent
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// grpcBackend is a real gRPC server on loopback (serving the health
// service) registered as an instance of a service.
type grpcBackend struct {
	addr string
	srv  *grpc.Server
	reg  *discovery.Registration
}

func startGRPC(t *testing.T, client *consul.Client, name string, i int, weights *consul.Weights) *grpcBackend {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	r, err := discovery.Register(context.Background(), client, &consul.AgentServiceRegistration{
		Name: name, ID: fmt.Sprintf("%s-%d", name, i), Address: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port,
		Weights: weights,
	}, discovery.WithTTL(5*time.Second), discovery.WithDrainPeriod(0))
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return &grpcBackend{addr: l.Addr().String(), srv: srv, reg: r}
}

var nameSeq int

func serviceName() string {
	nameSeq++
	return fmt.Sprintf("grpc-svc-%d-%d", os.Getpid(), nameSeq)
}

// call makes one RPC and returns the address of the server that answered.
func call(ctx context.Context, hc healthpb.HealthClient) (string, error) {
	var p peer.Peer
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Peer(&p))
	if err != nil {
		return "", err
	}
	return p.Addr.String(), nil
}

// dial connects to a consul:// target through the resolver registered
// for the scheme, with a load-balancing policy.
func dial(t *testing.T, target, policy string) healthpb.HealthClient {
	conn, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig": [{"`+policy+`": {}}]}`))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return healthpb.NewHealthClient(conn)
}

// callsAvoid makes RPCs until n in a row avoid addr (the update reached
// the balancer), failing the test on any failed RPC or after d.
func callsAvoid(t *testing.T, ctx context.Context, hc healthpb.HealthClient, addr string, n int, d time.Duration) {
	deadline := time.Now().Add(d)
	for run := 0; run < n; {
		require.True(t, time.Now().Before(deadline), "RPCs still reach %s", addr)
		got, err := call(ctx, hc)
		require.NoError(t, err)
		if got == addr {
			run = 0
		} else {
			run++
		}
	}
}

// Three real gRPC servers registered: round_robin spreads the calls over
// the three. One is deregistered: once the update is in, it gets no more
// calls, and stopping it fails none.
func TestRoundRobinSpreadsAndSurvivesDeregistration(t *testing.T) {
	ctx := testCtx(t)
	agent := testAgent(t)
	client, err := consul.NewClient(consul.Config{Address: agent.HTTPAddr})
	require.NoError(t, err)
	name := serviceName()
	var bs []*grpcBackend
	for i := range 3 {
		bs = append(bs, startGRPC(t, client, name, i, nil))
	}
	hc := dial(t, "consul://"+agent.HTTPAddr+"/"+name, "round_robin")

	// Until all three are connected, round_robin uses those that are.
	seen := map[string]int{}
	deadline := time.Now().Add(10 * time.Second)
	for len(seen) < 3 {
		require.True(t, time.Now().Before(deadline), "not all servers reached: %v", seen)
		got, err := call(ctx, hc)
		require.NoError(t, err)
		seen[got]++
	}
	counts := map[string]int{}
	for range 30 {
		got, err := call(ctx, hc)
		require.NoError(t, err)
		counts[got]++
	}
	for _, b := range bs {
		assert.Equal(t, 10, counts[b.addr], "calls to %s: %v", b.addr, counts)
	}

	require.NoError(t, bs[1].reg.Close()) // deregisters
	callsAvoid(t, ctx, hc, bs[1].addr, 30, 10*time.Second)
	bs[1].srv.Stop()
	counts = map[string]int{}
	for range 60 {
		got, err := call(ctx, hc)
		require.NoError(t, err, "an RPC failed after the update")
		counts[got]++
	}
	assert.Equal(t, map[string]int{bs[0].addr: 30, bs[2].addr: 30}, counts)
}

// pick_first sends every call to one server; when that one is
// deregistered, the calls move to another without failing.
func TestPickFirst(t *testing.T) {
	ctx := testCtx(t)
	agent := testAgent(t)
	client, err := consul.NewClient(consul.Config{Address: agent.HTTPAddr})
	require.NoError(t, err)
	name := serviceName()
	byAddr := map[string]*grpcBackend{}
	for i := range 3 {
		b := startGRPC(t, client, name, i, nil)
		byAddr[b.addr] = b
	}
	hc := dial(t, "consul://"+agent.HTTPAddr+"/"+name, "pick_first")
	first, err := call(ctx, hc)
	require.NoError(t, err)
	for range 20 {
		got, err := call(ctx, hc)
		require.NoError(t, err)
		require.Equal(t, first, got)
	}
	require.NoError(t, byAddr[first].reg.Close())
	callsAvoid(t, ctx, hc, first, 20, 10*time.Second)
	byAddr[first].srv.Stop()
	for range 20 {
		got, err := call(ctx, hc)
		require.NoError(t, err)
		require.NotEqual(t, first, got)
	}
}

// fakeCC records what a resolver pushes.
type fakeCC struct {
	resolver.ClientConn
	mu     sync.Mutex
	states []resolver.State
	errs   []error
}

func (f *fakeCC) UpdateState(s resolver.State) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.states = append(f.states, s)
	return nil
}

func (f *fakeCC) ReportError(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, err)
}

func (f *fakeCC) ParseServiceConfig(string) *serviceconfig.ParseResult { return nil }

func (f *fakeCC) last() (resolver.State, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.states) == 0 {
		return resolver.State{}, false
	}
	return f.states[len(f.states)-1], true
}

func build(t *testing.T, b resolver.Builder, target string, cc resolver.ClientConn) (resolver.Resolver, error) {
	u, err := url.Parse(target)
	require.NoError(t, err)
	r, err := b.Build(resolver.Target{URL: *u}, cc, resolver.BuildOptions{})
	if r != nil {
		t.Cleanup(r.Close)
	}
	return r, err
}

// Each instance's Consul weight travels as an attribute of its endpoint;
// an instance in warning has its warning weight, and
// passing=true drops it.
func TestWeightsAsAttributes(t *testing.T) {
	agent := testAgent(t)
	client, err := consul.NewClient(consul.Config{Address: agent.HTTPAddr})
	require.NoError(t, err)
	name := serviceName()
	a := startGRPC(t, client, name, 0, &consul.Weights{Passing: 7, Warning: 1})
	b := startGRPC(t, client, name, 1, &consul.Weights{Passing: 3, Warning: 2})
	require.NoError(t, b.reg.Warn(testCtx(t), "slow"))

	weights := func(cc *fakeCC) map[string]uint32 {
		s, ok := cc.last()
		if !ok {
			return nil
		}
		out := map[string]uint32{}
		for i, ep := range s.Endpoints {
			w, ok := grpcresolver.Weight(ep.Attributes)
			require.True(t, ok)
			require.Len(t, ep.Addresses, 1)
			require.Equal(t, s.Addresses[i].Addr, ep.Addresses[0].Addr)
			out[ep.Addresses[0].Addr] = w
		}
		return out
	}
	cc := &fakeCC{}
	_, err = build(t, grpcresolver.NewBuilder(client), "consul:///"+name, cc)
	require.NoError(t, err)
	want := map[string]uint32{a.addr: 7, b.addr: 2}
	require.Eventually(t, func() bool { return assert.ObjectsAreEqual(want, weights(cc)) }, 5*time.Second, 10*time.Millisecond,
		"want %v", want)

	passing := &fakeCC{}
	_, err = build(t, grpcresolver.NewBuilder(client), "consul://"+agent.HTTPAddr+"/"+name+"?passing=true", passing)
	require.NoError(t, err)
	want = map[string]uint32{a.addr: 7}
	require.Eventually(t, func() bool { return assert.ObjectsAreEqual(want, weights(passing)) }, 5*time.Second, 10*time.Millisecond)
}

// The target's parameters reach Consul's query; unknown parameters, bad
// values, a target without a service and another agent than the
// builder's client's are refused; an error before the first answer is
// reported to gRPC.
func TestTargets(t *testing.T) {
	queries := make(chan url.Values, 10)
	var deny bool
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		d := deny
		mu.Unlock()
		if d {
			http.Error(w, "Permission denied", http.StatusForbidden)
			return
		}
		if r.URL.Query().Has("index") {
			<-r.Context().Done()
			return
		}
		queries <- r.URL.Query()
		w.Header().Set("X-Consul-Index", "3")
		w.Write([]byte("[]"))
	}))
	defer srv.Close()
	client, err := consul.NewClient(consul.Config{Address: srv.Listener.Addr().String()})
	require.NoError(t, err)
	b := grpcresolver.NewBuilder(client)
	assert.Equal(t, "consul", b.Scheme())

	cc := &fakeCC{}
	_, err = build(t, b, "consul:///web?tag=v2&tag=eu&dc=dc2&passing=true&near=_agent&filter=Service.Meta.x%3D%3D%221%22&peer=p1", cc)
	require.NoError(t, err)
	q := <-queries
	q.Del("wait")
	assert.Equal(t, url.Values{"tag": {"eu", "v2"}, "dc": {"dc2"}, "passing": {""}, "near": {"_agent"},
		"filter": {`Service.Meta.x=="1"`}, "peer": {"p1"}}, q)
	require.Eventually(t, func() bool { _, ok := cc.last(); return ok }, 5*time.Second, 10*time.Millisecond)
	s, _ := cc.last()
	assert.Empty(t, s.Endpoints, "no instance: an empty state")

	for _, target := range []string{
		"consul:///web?colour=blue",
		"consul:///web?passing=maybe",
		"consul:///",
		"consul:///a/b",
		"consul://10.1.2.3:8500/web",
		// An empty value would select every instance (an empty tag).
		"consul:///web?tag=", "consul:///web?tag=v2&tag=", "consul:///web?dc=", "consul:///web?near=",
	} {
		_, err := build(t, b, target, &fakeCC{})
		assert.Error(t, err, target)
	}
	_, err = build(t, b, "consul://"+srv.Listener.Addr().String()+"/web2", &fakeCC{})
	assert.NoError(t, err, "the client's own agent")

	mu.Lock()
	deny = true
	mu.Unlock()
	denied := &fakeCC{}
	_, err = build(t, b, "consul:///web3", denied)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		denied.mu.Lock()
		defer denied.mu.Unlock()
		return len(denied.errs) > 0
	}, 5*time.Second, 10*time.Millisecond)
	assert.ErrorIs(t, denied.errs[0], consul.ErrPermissionDenied)
}
