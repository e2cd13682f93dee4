package discovery_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/goconsul/consul/discovery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A registered service stays passing for three TTLs: the heartbeat keeps
// its TTL check alive (without it, the check would turn critical after one
// TTL, as TestRegisterCriticalWhenHeartbeatStops shows).
func TestRegisterStaysPassing(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	client := newClient(t, testAgent(t).HTTPAddr)
	name := serviceName(t)
	const ttl = 1500 * time.Millisecond
	r, err := discovery.Register(ctx, client, &consul.AgentServiceRegistration{Name: name, Port: 8080},
		discovery.WithTTL(ttl), discovery.WithDrainPeriod(0))
	require.NoError(t, err)
	defer r.Close()
	require.Equal(t, "service:"+name+":ttl", r.CheckID())

	// Every state of the service's health, as a watcher sees it.
	var mu sync.Mutex
	var seen []consul.HealthStatus
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		for u, err := range consul.Watch(wctx, consul.Bind(client.Health.ListServiceInstances, name)) {
			if err == nil && len(u.Value) == 1 {
				mu.Lock()
				seen = append(seen, u.Value[0].AggregatedStatus())
				mu.Unlock()
			}
		}
	}()

	deadline := time.Now().Add(3 * ttl)
	for time.Now().Before(deadline) {
		require.Equal(t, consul.HealthPassing, checkStatus(t, client, r.CheckID()))
		time.Sleep(50 * time.Millisecond)
	}
	st := r.State()
	assert.Equal(t, discovery.PhaseActive, st.Phase)
	assert.NoError(t, st.Err)
	assert.WithinDuration(t, time.Now(), st.LastHeartbeat, ttl)
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, seen)
	for _, s := range seen {
		assert.Equal(t, consul.HealthPassing, s)
	}
}

// When the heartbeat stops reaching the agent, the service turns critical
// within its TTL of the last heartbeat the agent confirmed, and passing
// again once heartbeats get through.
func TestRegisterCriticalWhenHeartbeatStops(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	ft := newFaultTransport()
	hb := &heartbeatClock{base: ft}
	client := newClient(t, testAgent(t).HTTPAddr, consul.Config{Transport: hb})
	const ttl = time.Second
	r, err := discovery.Register(ctx, client, &consul.AgentServiceRegistration{Name: serviceName(t), Port: 1},
		discovery.WithTTL(ttl), discovery.WithDrainPeriod(0))
	require.NoError(t, err)
	defer r.Close()
	waitFor(t, 10*time.Second, "a first heartbeat", func() bool { return !r.State().LastHeartbeat.IsZero() })

	ft.block("/v1/agent/check/update/")
	// The last heartbeat that got through: one may be in flight now, and
	// a loaded machine can take any time to finish it; the agent restarted
	// the TTL between its sending and its answer.
	waitFor(t, 10*time.Second, "the heartbeat in flight done", func() bool { return hb.inFlight() == 0 })
	sent, answered := hb.last()
	waitFor(t, 3*ttl, "critical", func() bool { return checkStatus(t, client, r.CheckID()) == consul.HealthCritical })
	now := time.Now()
	critical := now.Sub(answered)
	t.Logf("critical %v after the last confirmed heartbeat (TTL %v)", critical, ttl)
	// The polling of the check's status (a request every 5ms) adds its
	// latency; a TTL registered half again as long still fails.
	assert.LessOrEqual(t, critical, ttl+ttl/2, "critical within the TTL (plus polling)")
	assert.GreaterOrEqual(t, now.Sub(sent), ttl-50*time.Millisecond, "not before the TTL ran out")
	assert.Error(t, r.State().Err)

	ft.block()
	waitFor(t, 10*time.Second, "passing again", func() bool {
		return checkStatus(t, client, r.CheckID()) == consul.HealthPassing && r.State().Err == nil
	})
}

// heartbeatClock notes when the last request that restarted the TTL check
// (a heartbeat, or the registration) and that the agent accepted was sent
// and answered, and counts those in flight.
type heartbeatClock struct {
	base http.RoundTripper

	mu             sync.Mutex
	n              int
	sent, answered time.Time
}

func (h *heartbeatClock) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.Contains(req.URL.Path, "/v1/agent/check/update/") && !strings.Contains(req.URL.Path, "/v1/agent/service/register") {
		return h.base.RoundTrip(req)
	}
	h.mu.Lock()
	h.n++
	h.mu.Unlock()
	sent := time.Now()
	resp, err := h.base.RoundTrip(req)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n--
	if err == nil && resp.StatusCode == http.StatusOK {
		h.sent, h.answered = sent, time.Now()
	}
	return resp, err
}

func (h *heartbeatClock) inFlight() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

func (h *heartbeatClock) last() (sent, answered time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sent, h.answered
}

// After its agent restarts with a wiped data directory, the service is
// back, registered again by the heartbeat (whose first call after the
// agent answers again gets a 404). The agent holds a registration until
// it has a leader and has read the service's central configuration from
// it, and its local API waits meanwhile, so the bound is counted from the
// agent being ready (consultest's Start: a leader, its own node
// registered): back and passing in the agent within the heartbeat
// interval plus 3 seconds, and healthy in the catalog half a second later
// (measured: 0 to 1.5s).
func TestRegisterBackAfterWipedAgent(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := consultest.NewServer(t, consultest.Config{})
	client := newClient(t, srv.HTTPAddr)
	name := serviceName(t)
	const ttl = 1500 * time.Millisecond
	const interval = ttl / 3
	r, err := discovery.Register(ctx, client, &consul.AgentServiceRegistration{Name: name, Port: 9000},
		discovery.WithTTL(ttl), discovery.WithDrainPeriod(0))
	require.NoError(t, err)
	defer r.Close()

	require.NoError(t, srv.Stop())
	require.NoError(t, os.RemoveAll(srv.DataDir))
	require.NoError(t, srv.Start())
	start := time.Now()
	waitFor(t, 10*time.Second, "the service back in the agent", func() bool {
		s, _, err := client.Services.Get(ctx, r.ID())
		return err == nil && s != nil && checkStatus(t, client, r.CheckID()) == consul.HealthPassing
	})
	inAgent := time.Since(start)
	waitFor(t, 10*time.Second, "the service healthy in the catalog", func() bool {
		entries, _, err := client.Health.ListServiceInstances(ctx, name, consul.Passing())
		return err == nil && len(entries) == 1
	})
	inCatalog := time.Since(start)
	t.Logf("after the agent was ready: back and passing in the agent in %v, healthy in the catalog in %v (heartbeat interval %v)",
		inAgent, inCatalog, interval)
	assert.LessOrEqual(t, inAgent, interval+3*time.Second)
	assert.LessOrEqual(t, inCatalog, interval+3500*time.Millisecond)
	waitFor(t, 10*time.Second, "counted", func() bool { return r.State().Reregistrations >= 1 })
}

// A 404 on the TTL update (the service was deregistered behind the
// Registration's back) registers the service again at the next heartbeat.
func TestRegisterAgainOn404(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	client := newClient(t, testAgent(t).HTTPAddr)
	const ttl = 900 * time.Millisecond
	r, err := discovery.Register(ctx, client, &consul.AgentServiceRegistration{Name: serviceName(t), Port: 1},
		discovery.WithTTL(ttl), discovery.WithDrainPeriod(0))
	require.NoError(t, err)
	defer r.Close()
	require.NoError(t, r.Warn(ctx, "slow disk"))

	require.NoError(t, client.Services.Deregister(ctx, r.ID()))
	waitFor(t, 10*time.Second, "registered again", func() bool {
		s, _, err := client.Services.Get(ctx, r.ID())
		return err == nil && s != nil && r.State().Reregistrations == 1
	})
	// With the status it had.
	waitFor(t, 10*time.Second, "warning", func() bool { return checkStatus(t, client, r.CheckID()) == consul.HealthWarning })
	checks, _, err := client.Checks.List(ctx)
	require.NoError(t, err)
	assert.Equal(t, "slow disk", checks[r.CheckID()].Output)
}

// gone is statusSeq's status of an instance that is not listed.
const gone consul.HealthStatus = "gone"

// statusSeq watches a service's health and records, for each answer, the
// instance's aggregated status or "gone".
func statusSeq(ctx context.Context, client *consul.Client, name string) func() []consul.HealthStatus {
	var mu sync.Mutex
	var seq []consul.HealthStatus
	go func() {
		for u, err := range consul.Watch(ctx, consul.Bind(client.Health.ListServiceInstances, name)) {
			if err != nil {
				continue
			}
			s := gone
			if len(u.Value) > 0 {
				s = u.Value[0].AggregatedStatus()
			}
			mu.Lock()
			if len(seq) == 0 || seq[len(seq)-1] != s {
				seq = append(seq, s)
			}
			mu.Unlock()
		}
	}()
	return func() []consul.HealthStatus {
		mu.Lock()
		defer mu.Unlock()
		return append([]consul.HealthStatus(nil), seq...)
	}
}

// Close drains: the service turns critical, stays so for the drain period
// (a watcher sees it critical before it disappears), then is
// deregistered. The maintenance drain does the same with maintenance
// mode.
func TestRegisterCloseDrains(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opt    discovery.RegisterOption
		status consul.HealthStatus
	}{
		{"critical", nil, consul.HealthCritical},
		{"maintenance", discovery.WithMaintenanceDrain("deploying"), consul.HealthMaintenance},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			client := newClient(t, testAgent(t).HTTPAddr)
			name := serviceName(t)
			const drain = time.Second
			r, err := discovery.Register(ctx, client, &consul.AgentServiceRegistration{Name: name, Port: 1},
				discovery.WithTTL(5*time.Second), discovery.WithDrainPeriod(drain), tc.opt)
			require.NoError(t, err)
			seq := statusSeq(ctx, client, name)
			waitFor(t, 5*time.Second, "the watcher sees it", func() bool { return len(seq()) > 0 })

			start := time.Now()
			require.NoError(t, r.Close())
			took := time.Since(start)
			assert.GreaterOrEqual(t, took, drain)
			assert.Less(t, took, drain+2*time.Second)
			s, _, err := client.Services.Get(ctx, r.ID())
			require.NoError(t, err)
			assert.Nil(t, s, "deregistered")
			waitFor(t, 5*time.Second, "the watcher sees it go", func() bool {
				q := seq()
				return q[len(q)-1] == gone
			})
			assert.Equal(t, []consul.HealthStatus{consul.HealthPassing, tc.status, gone}, seq())
			st := r.State()
			assert.Equal(t, discovery.PhaseClosed, st.Phase)
			assert.NoError(t, st.Err)
			assert.ErrorIs(t, r.Pass(ctx, ""), discovery.ErrClosed)
			assert.NoError(t, r.Close(), "closing again")
		})
	}
}

// When Register's context ends, the registration drains and deregisters
// by itself; Done is closed then.
func TestRegisterContextEndDrains(t *testing.T) {
	t.Parallel()
	client := newClient(t, testAgent(t).HTTPAddr)
	ctx, cancel := context.WithCancel(testCtx(t))
	name := serviceName(t)
	r, err := discovery.Register(ctx, client, &consul.AgentServiceRegistration{Name: name, Port: 1},
		discovery.WithDrainPeriod(300*time.Millisecond))
	require.NoError(t, err)
	seq := statusSeq(testCtx(t), client, name)
	waitFor(t, 5*time.Second, "the watcher sees it", func() bool { return len(seq()) > 0 })
	cancel()
	select {
	case <-r.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("not drained")
	}
	s, _, err := client.Services.Get(testCtx(t), r.ID())
	require.NoError(t, err)
	assert.Nil(t, s)
	waitFor(t, 5*time.Second, "the watcher sees it go", func() bool { q := seq(); return q[len(q)-1] == gone })
	assert.Equal(t, []consul.HealthStatus{consul.HealthPassing, consul.HealthCritical, gone}, seq())
	assert.NoError(t, r.Close())
}

// Status updates reach the agent at once with their output, and the
// heartbeat keeps repeating the last one.
func TestRegisterStatusUpdates(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	client := newClient(t, testAgent(t).HTTPAddr)
	const ttl = time.Second
	r, err := discovery.Register(ctx, client, &consul.AgentServiceRegistration{Name: serviceName(t), Port: 1},
		discovery.WithTTL(ttl), discovery.WithDrainPeriod(0),
		discovery.WithInitialStatus(consul.HealthCritical, "starting"))
	require.NoError(t, err)
	defer r.Close()
	check := func() *consul.HealthCheck {
		checks, _, err := client.Checks.List(ctx)
		require.NoError(t, err)
		return checks[r.CheckID()]
	}
	c := check()
	assert.Equal(t, consul.HealthCritical, c.Status)
	assert.Equal(t, "starting", c.Output)

	require.NoError(t, r.Warn(ctx, "cache cold"))
	c = check()
	assert.Equal(t, consul.HealthWarning, c.Status)
	assert.Equal(t, "cache cold", c.Output)
	time.Sleep(2 * ttl) // heartbeats repeat the warning
	c = check()
	assert.Equal(t, consul.HealthWarning, c.Status)
	assert.Equal(t, "cache cold", c.Output)
	st := r.State()
	assert.Equal(t, consul.HealthWarning, st.Status)
	assert.Equal(t, "cache cold", st.Output)

	require.NoError(t, r.Fail(ctx, "db down"))
	assert.Equal(t, consul.HealthCritical, check().Status)
	require.NoError(t, r.Pass(ctx, "ok"))
	assert.Equal(t, consul.HealthPassing, check().Status)

	var ae *consul.ArgumentError
	assert.ErrorAs(t, r.Update(ctx, "maintenance", ""), &ae)
}

// A registration's own TTL check is the one kept alive, under its ID, and
// no other check is added; its other checks are registered too.
func TestRegisterOwnTTLCheck(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	client := newClient(t, testAgent(t).HTTPAddr)
	name := serviceName(t)
	reg := &consul.AgentServiceRegistration{Name: name, ID: name + "-1", Port: 1, Checks: []*consul.AgentCheckRegistration{
		{ID: name + "-alias", AliasService: "nothing-" + name},
		{ID: name + "-ttl", TTL: time.Second},
	}}
	r, err := discovery.Register(ctx, client, reg, discovery.WithDrainPeriod(0))
	require.NoError(t, err)
	defer r.Close()
	assert.Equal(t, name+"-ttl", r.CheckID())
	assert.Empty(t, reg.Checks[1].Status, "reg is not modified")
	time.Sleep(1500 * time.Millisecond)
	checks, _, err := client.Checks.List(ctx, consul.Filter(`ServiceID == "`+r.ID()+`"`))
	require.NoError(t, err)
	require.Len(t, checks, 2)
	assert.Equal(t, consul.HealthPassing, checks[name+"-ttl"].Status)
	assert.Contains(t, checks, name+"-alias")
}

// Bad input is refused before sending; a first registration that fails
// is returned.
func TestRegisterRefuses(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("sent %s %s", r.Method, r.URL)
	}))
	defer srv.Close()
	client := newClient(t, srv.Listener.Addr().String())
	reg := &consul.AgentServiceRegistration{Name: "web"}
	var ae *consul.ArgumentError
	for name, f := range map[string]func() error{
		"nil registration": func() error { _, err := discovery.Register(ctx, client, nil); return err },
		"nil client":       func() error { _, err := discovery.Register(ctx, nil, reg); return err },
		"two TTL checks": func() error {
			_, err := discovery.Register(ctx, client, &consul.AgentServiceRegistration{Name: "web",
				Check: &consul.AgentCheckRegistration{TTL: time.Second}, Checks: []*consul.AgentCheckRegistration{{TTL: time.Second}}})
			return err
		},
		"negative TTL": func() error {
			_, err := discovery.Register(ctx, client, reg, discovery.WithTTL(-time.Second))
			return err
		},
		"interval above TTL": func() error {
			_, err := discovery.Register(ctx, client, reg, discovery.WithHeartbeatInterval(time.Hour))
			return err
		},
		"negative drain": func() error {
			_, err := discovery.Register(ctx, client, reg, discovery.WithDrainPeriod(-1))
			return err
		},
		"bad status": func() error {
			_, err := discovery.Register(ctx, client, reg, discovery.WithInitialStatus("up", ""))
			return err
		},
		"empty name": func() error {
			_, err := discovery.Register(ctx, client, &consul.AgentServiceRegistration{})
			return err
		},
	} {
		assert.ErrorAs(t, f(), &ae, name)
	}

	// An agent that cannot be reached: the error is returned.
	down := newClient(t, "127.0.0.1:1")
	_, err := discovery.Register(ctx, down, reg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `discovery: register "web"`)
}

// On the wire: the registration carries the TTL check with its status and
// replaces earlier checks; Close fails the check, waits the drain period,
// then deregisters; a 404 on a heartbeat registers the service again.
func TestRegisterWire(t *testing.T) {
	type call struct {
		at           time.Time
		method, path string
		query        string
		body         map[string]any
	}
	var mu sync.Mutex
	var calls []call
	checkKnown := true
	var registered map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(b, &body)
		mu.Lock()
		calls = append(calls, call{time.Now(), r.Method, r.URL.Path, r.URL.RawQuery, body})
		known := checkKnown
		if strings.HasPrefix(r.URL.Path, "/v1/agent/service/register") {
			checkKnown = true
			registered = body
		}
		last := registered
		mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/v1/agent/check/update/") && !known {
			http.Error(w, "Unknown check ID", http.StatusNotFound)
		}
		if r.Method == http.MethodGet && r.URL.Path == "/v1/agent/service/web-1" {
			// The agent's view of the service: what was registered last.
			_ = json.NewEncoder(w).Encode(map[string]any{"ID": "web-1", "Service": "web", "Meta": last["Meta"]})
		}
	}))
	defer srv.Close()
	client := newClient(t, srv.Listener.Addr().String())
	const drain = 300 * time.Millisecond
	r, err := discovery.Register(context.Background(), client,
		&consul.AgentServiceRegistration{Name: "web", ID: "web-1", Port: 80, Tags: []string{"v2"}},
		discovery.WithTTL(300*time.Millisecond), discovery.WithDrainPeriod(drain),
		discovery.WithDeregisterCriticalAfter(time.Minute), discovery.WithCallOptions(consul.Token("secret")))
	require.NoError(t, err)
	time.Sleep(250 * time.Millisecond) // two heartbeats
	mu.Lock()
	checkKnown = false
	mu.Unlock()
	// A 404, then a registration: waited for, as a loaded machine can
	// delay the next heartbeat past any fixed sleep.
	waitFor(t, 10*time.Second, "registered again after the 404", func() bool { return r.State().Reregistrations >= 1 })
	require.NoError(t, r.Close())
	assert.Equal(t, 1, r.State().Reregistrations)

	mu.Lock()
	defer mu.Unlock()
	require.GreaterOrEqual(t, len(calls), 6)
	first := calls[0]
	assert.Equal(t, "PUT /v1/agent/service/register replace-existing-checks=true", first.method+" "+first.path+" "+first.query)
	// The registration carries its owner's marker: the drain and the
	// deregistration leave a registration of the same ID by another
	// process alone.
	meta, _ := first.body["Meta"].(map[string]any)
	require.Len(t, meta, 1)
	assert.Regexp(t, "^[0-9a-f]{24}$", meta["goconsul-registration"])
	delete(first.body, "Meta")
	assert.Equal(t, map[string]any{
		"ID": "web-1", "Name": "web", "Port": float64(80), "Tags": []any{"v2"},
		"Check": map[string]any{
			"CheckID": "service:web-1:ttl", "Name": "Service 'web' heartbeat", "TTL": "300ms", "Status": "passing",
			"Notes": "kept alive by github.com/goconsul/consul/discovery", "DeregisterCriticalServiceAfter": "1m0s",
		},
	}, first.body)
	var paths []string
	for _, c := range calls[1:] {
		paths = append(paths, c.method+" "+c.path)
	}
	n := len(calls)
	assert.Equal(t, "PUT /v1/agent/check/update/service:web-1:ttl", paths[0])
	assert.Contains(t, paths, "PUT /v1/agent/service/register", "registered again after the 404")
	// Close: is the registration still ours? mark it critical; drain; is
	// it still ours? deregister.
	require.GreaterOrEqual(t, n, 5)
	assert.Equal(t, "GET /v1/agent/service/web-1", paths[n-5])
	assert.Equal(t, "GET /v1/agent/service/web-1", paths[n-3])
	mark, dereg := calls[n-3], calls[n-1]
	assert.Equal(t, "PUT /v1/agent/check/update/service:web-1:ttl", mark.method+" "+mark.path)
	assert.Equal(t, map[string]any{"Status": "critical", "Output": "draining: the service is shutting down"}, mark.body)
	assert.Equal(t, "PUT /v1/agent/service/deregister/web-1", dereg.method+" "+dereg.path)
	assert.GreaterOrEqual(t, dereg.at.Sub(mark.at), drain)
}

// Close after a failed drain returns the deregistration's error.
func TestRegisterCloseError(t *testing.T) {
	var fail sync.Mutex
	failing := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail.Lock()
		defer fail.Unlock()
		if failing {
			http.Error(w, "boom", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	client := newClient(t, srv.Listener.Addr().String())
	r, err := discovery.Register(context.Background(), client, &consul.AgentServiceRegistration{Name: "web"},
		discovery.WithDrainPeriod(0))
	require.NoError(t, err)
	fail.Lock()
	failing = true
	fail.Unlock()
	err = r.Close()
	var se *consul.StatusError
	require.True(t, errors.As(err, &se), "%v", err)
	assert.Equal(t, 500, se.StatusCode)
	assert.Equal(t, discovery.PhaseClosed, r.State().Phase)
}
