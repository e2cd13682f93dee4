package discovery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/goconsul/consul/discovery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// registerN registers n instances of a service named name (IDs name-0...,
// ports 10000+i) with TTL checks kept alive, closed with the test.
func registerN(t testing.TB, client *consul.Client, name string, n int, opts ...discovery.RegisterOption) []*discovery.Registration {
	t.Helper()
	var rs []*discovery.Registration
	for i := range n {
		r, err := discovery.Register(context.Background(), client, &consul.AgentServiceRegistration{
			Name: name, ID: fmt.Sprintf("%s-%d", name, i), Address: "127.0.0.1", Port: 10000 + i,
		}, append([]discovery.RegisterOption{discovery.WithTTL(5 * time.Second), discovery.WithDrainPeriod(0)}, opts...)...)
		require.NoError(t, err)
		t.Cleanup(func() { r.Close() })
		rs = append(rs, r)
	}
	return rs
}

func ids(list []*discovery.Instance) []string {
	var out []string
	for _, i := range list {
		out = append(out, i.ID)
	}
	return out
}

// With three instances, once one goes critical and the watch delivers,
// Next never returns it, while users keep calling Next throughout; the
// delay from the check change to the picker is logged. The same with
// PassingOnly (filtered by Consul rather than here).
func TestInstancesDropCritical(t *testing.T) {
	for _, passingOnly := range []bool{false, true} {
		t.Run(fmt.Sprintf("passingOnly=%v", passingOnly), func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			client := newClient(t, testAgent(t).HTTPAddr)
			name := serviceName(t)
			rs := registerN(t, client, name, 3)
			in, err := discovery.NewInstances(ctx, client, discovery.Query{Service: name, PassingOnly: passingOnly})
			require.NoError(t, err)
			defer in.Close()
			require.NoError(t, in.WaitReady(ctx))
			waitFor(t, 5*time.Second, "three instances", func() bool { return in.Len() == 3 })

			// Callers of Next all along; each records what it got after it
			// saw the update.
			var updated atomic.Bool
			var afterUpdate [3]atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						seen := updated.Load()
						inst, err := in.Next()
						if !assert.NoError(t, err) {
							return
						}
						if seen {
							afterUpdate[inst.Port-10000].Add(1)
						}
						time.Sleep(20 * time.Microsecond) // leave the agent some CPU
					}
				}()
			}

			// Past the watch's minimum interval (100ms) after the
			// registrations' own changes, the blocking request is waiting.
			time.Sleep(200 * time.Millisecond)
			start := time.Now()
			require.NoError(t, rs[1].Fail(ctx, "out of memory"))
			failed := time.Since(start)
			delay := waitFor(t, 5*time.Second, "the critical instance dropped", func() bool {
				return !slices.Contains(ids(in.All()), name+"-1")
			})
			updated.Store(true)
			t.Logf("check change to picker: %v after the update call returned (polled every 5ms; the call took %v)", delay, failed)
			time.Sleep(200 * time.Millisecond)
			// The callers run late on a loaded machine: wait until they
			// got both other instances after the update.
			waitFor(t, 10*time.Second, "Next called after the update", func() bool {
				return afterUpdate[0].Load() > 0 && afterUpdate[2].Load() > 0
			})
			close(stop)
			wg.Wait()
			assert.Zero(t, afterUpdate[1].Load(), "Next returned the critical instance after the update")
			assert.NotZero(t, afterUpdate[0].Load())
			assert.NotZero(t, afterUpdate[2].Load())
			for range 3000 {
				inst, err := in.Next()
				require.NoError(t, err)
				require.NotEqual(t, name+"-1", inst.ID)
			}

			// Back to passing: back in the set.
			require.NoError(t, rs[1].Pass(ctx, ""))
			waitFor(t, 5*time.Second, "the instance back", func() bool { return in.Len() == 3 })
		})
	}
}

// With its agent stopped, an Instances keeps serving the last set it got
// (and reports the failure); it catches up when the agent is back.
func TestInstancesLastKnownGood(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := consultest.NewServer(t, consultest.Config{})
	client := newClient(t, srv.HTTPAddr)
	for i := range 3 {
		require.NoError(t, client.Services.Register(ctx, &consul.AgentServiceRegistration{
			Name: "db", ID: fmt.Sprintf("db-%d", i), Address: "127.0.0.1", Port: 5432 + i}))
	}
	in, err := discovery.NewInstances(ctx, client, discovery.Query{Service: "db"})
	require.NoError(t, err)
	defer in.Close()
	require.NoError(t, in.WaitReady(ctx))
	waitFor(t, 5*time.Second, "three instances", func() bool { return in.Len() == 3 })

	require.NoError(t, srv.Stop())
	waitFor(t, 10*time.Second, "the watch fails", func() bool { return in.Err() != nil })
	t.Logf("watch error with the agent stopped: %v", in.Err())
	seen := map[int]bool{}
	for range 30 {
		inst, err := in.Next()
		require.NoError(t, err)
		seen[inst.Port] = true
	}
	assert.Len(t, seen, 3, "all three instances still served")
	assert.Len(t, in.All(), 3)

	require.NoError(t, srv.Start())
	waitFor(t, 20*time.Second, "the watch recovers", func() bool { return in.Err() == nil })
	assert.Equal(t, 3, in.Len())
}

// Every Instances of one query on one client shares one blocking request,
// whatever the order of its tags; another query has its own; and the
// requests end with their last user.
func TestInstancesShareOneRequest(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	ft := newFaultTransport()
	client := newClient(t, testAgent(t).HTTPAddr, consul.Config{Transport: ft})
	name := serviceName(t)
	for i := range 2 {
		require.NoError(t, client.Services.Register(ctx, &consul.AgentServiceRegistration{
			Name: name, ID: fmt.Sprintf("%s-%d", name, i), Port: 1 + i, Tags: []string{"a", "b"}}))
		defer client.Services.Deregister(ctx, fmt.Sprintf("%s-%d", name, i))
	}
	var all []*discovery.Instances
	for i := range 20 {
		q := discovery.Query{Service: name}
		if i%2 == 1 {
			q.Tags = []string{"a", "b"}
			if i%4 == 1 {
				q.Tags = []string{"b", "a"}
			}
		}
		in, err := discovery.NewInstances(ctx, client, q, discovery.WithPicker([]discovery.Picker{discovery.RoundRobin, discovery.Random, discovery.Weighted}[i%3]))
		require.NoError(t, err)
		all = append(all, in)
	}
	for _, in := range all {
		require.NoError(t, in.WaitReady(ctx))
		assert.Equal(t, 2, in.Len())
	}
	// A change reaches all of them through the two requests.
	require.NoError(t, client.Services.Register(ctx, &consul.AgentServiceRegistration{
		Name: name, ID: name + "-2", Port: 3, Tags: []string{"a", "b"}}))
	defer client.Services.Deregister(ctx, name+"-2")
	for _, in := range all {
		waitFor(t, 5*time.Second, "the third instance", func() bool { return in.Len() == 3 })
	}
	byQuery := ft.maxInFlight("/v1/health/service/" + name)
	require.Len(t, byQuery, 2, "one query with tags, one without: %v", byQuery)
	for q, n := range byQuery {
		assert.Equal(t, 1, n, "blocking requests at once for %s", q)
	}
	for _, in := range all {
		in.Close()
	}
	waitFor(t, 5*time.Second, "no request left", func() bool { return ft.totalInFlight() == 0 })
}

// The query's fields reach Consul as its parameters.
func TestInstancesQueryParameters(t *testing.T) {
	got := make(chan url.Values, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Has("index") {
			<-r.Context().Done()
			return
		}
		assert.Equal(t, "/v1/health/service/web", r.URL.Path)
		got <- q
		w.Header().Set("X-Consul-Index", "7")
		w.Write([]byte("[]"))
	}))
	defer srv.Close()
	client := newClient(t, srv.Listener.Addr().String())
	in, err := discovery.NewInstances(context.Background(), client, discovery.Query{
		Service: "web", Tags: []string{"v2", "eu"}, PassingOnly: true, Datacenter: "dc2",
		Near: "node-1", Filter: `Service.Meta.version == "2"`, Peer: "other",
	})
	require.NoError(t, err)
	defer in.Close()
	require.NoError(t, in.WaitReady(testCtx(t)))
	q := <-got
	q.Del("wait")
	assert.Equal(t, url.Values{
		"tag": {"eu", "v2"}, "passing": {""}, "dc": {"dc2"}, "near": {"node-1"},
		"filter": {`Service.Meta.version == "2"`}, "peer": {"other"},
	}, q)
	_, err = in.Next()
	assert.ErrorIs(t, err, discovery.ErrNoInstances)

	// Nearest sends near=_agent when the query has no Near.
	near, err := discovery.NewInstances(context.Background(), client, discovery.Query{Service: "web"},
		discovery.WithPicker(discovery.Nearest))
	require.NoError(t, err)
	defer near.Close()
	require.NoError(t, near.WaitReady(testCtx(t)))
	q = <-got
	assert.Equal(t, "_agent", q.Get("near"))
	assert.Equal(t, "_agent", near.Query().Near)
}

// fakeHealth serves one fixed health answer, and blocks blocking reads
// until the client goes.
func fakeHealth(t *testing.T, entries []*consul.ServiceEntry) *consul.Client {
	body, err := json.Marshal(entries)
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("index") {
			<-r.Context().Done()
			return
		}
		w.Header().Set("X-Consul-Index", "7")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return newClient(t, srv.Listener.Addr().String())
}

func entry(node, id string, port int, weights *consul.Weights, statuses ...consul.HealthStatus) *consul.ServiceEntry {
	e := &consul.ServiceEntry{
		Node:    &consul.Node{Node: node, Address: "10.0.0." + node[len(node)-1:], Datacenter: "dc1"},
		Service: &consul.NodeService{ID: id, Service: "web", Port: port, Weights: weights, Tags: []string{"t"}},
	}
	for i, s := range statuses {
		e.Checks = append(e.Checks, &consul.HealthCheck{CheckID: fmt.Sprintf("c%d", i), Status: s})
	}
	return e
}

// The pickers: round-robin in a stable order, uniform random, nearest in
// Consul's order, and weighted by the instances' Weights; critical and
// maintenance instances are never picked, warning ones only without
// PassingOnly.
func TestPickers(t *testing.T) {
	entries := []*consul.ServiceEntry{
		entry("n3", "c", 3, &consul.Weights{Passing: 6, Warning: 1}, consul.HealthPassing),
		entry("n1", "a", 1, &consul.Weights{Passing: 1, Warning: 1}, consul.HealthPassing),
		entry("n2", "b", 2, &consul.Weights{Passing: 10, Warning: 3}, consul.HealthPassing, consul.HealthWarning),
		entry("n4", "d", 4, nil, consul.HealthCritical),
		entry("n5", "e", 5, nil, consul.HealthPassing, consul.HealthCritical),
		{Node: &consul.Node{Node: "n6", Address: "10.0.0.6"}, Service: &consul.NodeService{ID: "f", Port: 6},
			Checks: []*consul.HealthCheck{{CheckID: "_service_maintenance:f", Status: consul.HealthCritical}}},
		entry("n7", "g", 7, &consul.Weights{Passing: 5, Warning: 0}, consul.HealthWarning),
	}
	client := fakeHealth(t, entries)
	ctx := testCtx(t)
	newIn := func(p discovery.Picker, q discovery.Query) *discovery.Instances {
		q.Service = "web"
		in, err := discovery.NewInstances(ctx, client, q, discovery.WithPicker(p))
		require.NoError(t, err)
		t.Cleanup(in.Close)
		require.NoError(t, in.WaitReady(ctx))
		assert.Equal(t, p, in.Picker())
		return in
	}
	count := func(in *discovery.Instances, n int) map[string]int {
		m := map[string]int{}
		for range n {
			inst, err := in.Next()
			require.NoError(t, err)
			m[inst.ID]++
		}
		return m
	}

	rr := newIn(discovery.RoundRobin, discovery.Query{})
	assert.Equal(t, []string{"a", "b", "c", "g"}, ids(rr.All()), "healthy ones, by node")
	var seq []string
	for range 8 {
		inst, _ := rr.Next()
		seq = append(seq, inst.ID)
	}
	assert.Equal(t, []string{"a", "b", "c", "g", "a", "b", "c", "g"}, seq)
	b := rr.All()[1]
	assert.Equal(t, consul.HealthWarning, b.Status)
	assert.Equal(t, 3, b.Weight)
	assert.Equal(t, "10.0.0.2:2", b.HostPort(), "the node's address when the service has none")
	assert.Equal(t, "dc1", b.Datacenter)
	assert.Equal(t, []string{"t"}, b.Tags)
	assert.NotNil(t, b.Entry)

	passing := newIn(discovery.RoundRobin, discovery.Query{PassingOnly: true})
	assert.Equal(t, []string{"a", "c"}, ids(passing.All()))

	const n = 20000
	random := count(newIn(discovery.Random, discovery.Query{}), n)
	for _, id := range []string{"a", "b", "c", "g"} {
		assert.InDelta(t, n/4, random[id], n/4*0.15, "random %s: %v", id, random)
	}

	// Weights: a 1, b 3 (warning), c 6, g 0 (warning weight 0): of 10.
	weighted := count(newIn(discovery.Weighted, discovery.Query{}), n)
	assert.Zero(t, weighted["g"])
	for id, w := range map[string]int{"a": 1, "b": 3, "c": 6} {
		assert.InDelta(t, n*w/10, weighted[id], float64(n*w/10)*0.15, "weighted %s: %v", id, weighted)
	}

	// Consul's order with Near: c first.
	nearest := newIn(discovery.Nearest, discovery.Query{Near: "n3"})
	assert.Equal(t, []string{"c", "a", "b", "g"}, ids(nearest.All()))
	assert.Equal(t, map[string]int{"c": 100}, count(nearest, 100))
}

// Weighted with every weight 0 picks uniformly; Next before the first
// answer is ErrNotReady, and WaitReady ends with its context, naming it.
func TestInstancesEdgeCases(t *testing.T) {
	client := fakeHealth(t, []*consul.ServiceEntry{
		entry("n1", "a", 1, &consul.Weights{Passing: 1, Warning: 0}, consul.HealthWarning),
		entry("n2", "b", 2, &consul.Weights{Passing: 1, Warning: 0}, consul.HealthWarning),
	})
	ctx := testCtx(t)
	in, err := discovery.NewInstances(ctx, client, discovery.Query{Service: "web"}, discovery.WithPicker(discovery.Weighted))
	require.NoError(t, err)
	defer in.Close()
	require.NoError(t, in.WaitReady(ctx))
	got := map[string]bool{}
	for range 200 {
		inst, err := in.Next()
		require.NoError(t, err)
		got[inst.ID] = true
	}
	assert.Len(t, got, 2)

	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hang.Close()
	slow, err := discovery.NewInstances(ctx, newClient(t, hang.Listener.Addr().String()), discovery.Query{Service: "web"})
	require.NoError(t, err)
	_, err = slow.Next()
	assert.ErrorIs(t, err, discovery.ErrNotReady)
	wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, slow.WaitReady(wctx), context.DeadlineExceeded)
	slow.Close()

	var ae *consul.ArgumentError
	_, err = discovery.NewInstances(ctx, client, discovery.Query{})
	assert.ErrorAs(t, err, &ae)
	_, err = discovery.NewInstances(ctx, client, discovery.Query{Service: "web"}, discovery.WithPicker(9))
	assert.ErrorAs(t, err, &ae)
}

// A permanent error (403) ends WaitReady at once with that error.
func TestInstancesPermanentError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Permission denied", http.StatusForbidden)
	}))
	defer srv.Close()
	ctx := testCtx(t)
	in, err := discovery.NewInstances(ctx, newClient(t, srv.Listener.Addr().String()), discovery.Query{Service: "web"})
	require.NoError(t, err)
	defer in.Close()
	assert.ErrorIs(t, in.WaitReady(ctx), consul.ErrPermissionDenied)
	assert.ErrorIs(t, in.Err(), consul.ErrPermissionDenied)
}

// The weights and the warning status of an instance come from the agent.
func TestInstancesWeightsFromAgent(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	client := newClient(t, testAgent(t).HTTPAddr)
	name := serviceName(t)
	r, err := discovery.Register(ctx, client, &consul.AgentServiceRegistration{
		Name: name, Port: 80, Weights: &consul.Weights{Passing: 5, Warning: 2},
	}, discovery.WithDrainPeriod(0), discovery.WithInitialStatus(consul.HealthWarning, "degraded"))
	require.NoError(t, err)
	defer r.Close()
	in, err := discovery.NewInstances(ctx, client, discovery.Query{Service: name}, discovery.WithPicker(discovery.Weighted))
	require.NoError(t, err)
	defer in.Close()
	require.NoError(t, in.WaitReady(ctx))
	waitFor(t, 5*time.Second, "the instance", func() bool { return in.Len() == 1 })
	inst, err := in.Next()
	require.NoError(t, err)
	assert.Equal(t, consul.HealthWarning, inst.Status)
	assert.Equal(t, 2, inst.Weight)
	require.NoError(t, r.Pass(ctx, ""))
	waitFor(t, 5*time.Second, "passing", func() bool {
		all := in.All()
		return len(all) == 1 && all[0].Weight == 5
	})
}

// Subscribe yields the current set, then each new one.
func TestInstancesSubscribe(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	client := newClient(t, testAgent(t).HTTPAddr)
	name := serviceName(t)
	in, err := discovery.NewInstances(ctx, client, discovery.Query{Service: name})
	require.NoError(t, err)
	defer in.Close()
	require.NoError(t, in.WaitReady(ctx))
	sets := make(chan []*discovery.Instance, 10)
	sctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for set, err := range in.Subscribe(sctx) {
			if err == nil {
				sets <- set
			}
		}
	}()
	assert.Empty(t, <-sets)
	registerN(t, client, name, 1)
	select {
	case set := <-sets:
		assert.Equal(t, []string{name + "-0"}, ids(set))
	case <-time.After(5 * time.Second):
		t.Fatal("no new set")
	}
	stop()
	<-done
}
