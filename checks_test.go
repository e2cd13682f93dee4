package consul_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/require"
)

// checksTestArgError asserts err is an *ArgumentError naming arg.
func checksTestArgError(t *testing.T, err error, arg string) {
	t.Helper()
	var ae *consul.ArgumentError
	require.True(t, errors.As(err, &ae), "want *ArgumentError, got %v", err)
	require.Equal(t, arg, ae.Arg, "the error names the field: %v", err)
}

const checksTestListBody = `{
  "mem": {"Node": "n1", "CheckID": "mem", "Name": "Memory utilization", "Status": "passing",
          "Notes": "", "Output": "ok", "ServiceID": "", "ServiceName": "", "ServiceTags": [],
          "Type": "ttl", "Interval": "", "Timeout": "", "ExposedPort": 0,
          "Definition": {"TTL": "15s"}, "CreateIndex": 0, "ModifyIndex": 0},
  "service:web": {"Node": "n1", "CheckID": "service:web", "Name": "web http", "Status": "critical",
          "ServiceID": "web", "ServiceName": "web", "ServiceTags": ["v1"], "Type": "http",
          "Interval": "10s", "Timeout": "1s", "Definition": {"HTTP": "http://127.0.0.1:80/", "Interval": "10s"}}
}`

func TestChecksListWire(t *testing.T) {
	w, c := newWire(t, reply{Body: checksTestListBody})
	checks, _, err := c.Checks.List(testCtx(t), consul.Filter(`Status == "passing"`))
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/agent/checks", q("filter", `Status == "passing"`))
	require.Len(t, checks, 2)
	require.Equal(t, consul.HealthPassing, checks["mem"].Status)
	require.Equal(t, "ok", checks["mem"].Output)
	require.Equal(t, 15*time.Second, checks["mem"].Definition.TTL)
	web := checks["service:web"]
	require.Equal(t, "web", web.ServiceID)
	require.Equal(t, 10*time.Second, web.Interval)
	require.Equal(t, time.Second, web.Timeout)
	require.Equal(t, []string{"v1"}, web.ServiceTags)
}

func TestChecksListWireEmpty(t *testing.T) {
	_, c := newWire(t, reply{Body: `{}`})
	checks, _, err := c.Checks.List(testCtx(t))
	require.NoError(t, err)
	require.NotNil(t, checks)
	require.Empty(t, checks)
}

func TestChecksRegisterWire(t *testing.T) {
	w, c := newWire(t, reply{})
	err := c.Checks.Register(testCtx(t), &consul.AgentCheckRegistration{
		ID: "mem", Name: "Memory utilization", Notes: "RAM", TTL: 15 * time.Second,
		Status: consul.HealthPassing, DeregisterCriticalServiceAfter: 90 * time.Second,
	}, consul.Token("tok"))
	require.NoError(t, err)
	s := w.only(t)
	s.expect(t, "PUT", "/v1/agent/check/register", nil)
	require.Equal(t, "tok", s.Header.Get("X-Consul-Token"))
	require.Equal(t, "application/json", s.Header.Get("Content-Type"))
	require.JSONEq(t, `{"ID":"mem","Name":"Memory utilization","Notes":"RAM","Status":"passing",
		"TTL":"15s","DeregisterCriticalServiceAfter":"1m30s"}`, s.Body)
}

func TestChecksRegisterWireKinds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check consul.AgentCheckRegistration
		body  string
	}{
		{"http", consul.AgentCheckRegistration{Name: "h", ServiceID: "web", HTTP: "https://x/health", Method: "POST",
			Header: map[string][]string{"A": {"b"}}, Body: "{}", TLSSkipVerify: true, Interval: 10 * time.Second, Timeout: time.Second},
			`{"Name":"h","ServiceID":"web","HTTP":"https://x/health","Method":"POST","Header":{"A":["b"]},"Body":"{}",
			  "TLSSkipVerify":true,"Interval":"10s","Timeout":"1s"}`},
		{"tcp", consul.AgentCheckRegistration{Name: "t", TCP: "127.0.0.1:22", TCPUseTLS: true, Interval: 5 * time.Second},
			`{"Name":"t","TCP":"127.0.0.1:22","TCPUseTLS":true,"Interval":"5s"}`},
		{"udp", consul.AgentCheckRegistration{Name: "u", UDP: "127.0.0.1:53", Interval: 5 * time.Second},
			`{"Name":"u","UDP":"127.0.0.1:53","Interval":"5s"}`},
		{"grpc", consul.AgentCheckRegistration{Name: "g", GRPC: "127.0.0.1:9000/svc", GRPCUseTLS: true, Interval: 5 * time.Second},
			`{"Name":"g","GRPC":"127.0.0.1:9000/svc","GRPCUseTLS":true,"Interval":"5s"}`},
		{"h2ping", consul.AgentCheckRegistration{Name: "p", H2PING: "127.0.0.1:443", H2PingUseTLS: true, Interval: 5 * time.Second},
			`{"Name":"p","H2PING":"127.0.0.1:443","H2PingUseTLS":true,"Interval":"5s"}`},
		{"os", consul.AgentCheckRegistration{Name: "o", OSService: "sshd", Interval: time.Minute},
			`{"Name":"o","OSService":"sshd","Interval":"1m0s"}`},
		{"script", consul.AgentCheckRegistration{Name: "s", ScriptArgs: []string{"/bin/true", "-x"}, Interval: 5 * time.Second},
			`{"Name":"s","ScriptArgs":["/bin/true","-x"],"Interval":"5s"}`},
		{"docker", consul.AgentCheckRegistration{Name: "d", DockerContainerID: "abc", Shell: "/bin/sh", ScriptArgs: []string{"true"}, Interval: 5 * time.Second},
			`{"Name":"d","DockerContainerID":"abc","Shell":"/bin/sh","ScriptArgs":["true"],"Interval":"5s"}`},
		{"alias", consul.AgentCheckRegistration{Name: "a", AliasService: "db", AliasNode: "n2"},
			`{"Name":"a","AliasService":"db","AliasNode":"n2"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, c := newWire(t, reply{})
			require.NoError(t, c.Checks.Register(testCtx(t), &tc.check))
			s := w.only(t)
			s.expect(t, "PUT", "/v1/agent/check/register", nil)
			require.JSONEq(t, tc.body, s.Body)
		})
	}
}

func TestChecksRegisterBadInput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check *consul.AgentCheckRegistration
		arg   string
	}{
		{"nil", nil, "check"},
		{"empty name", &consul.AgentCheckRegistration{TTL: time.Second}, "AgentCheckRegistration.Name"},
		{"no kind", &consul.AgentCheckRegistration{Name: "x", Interval: time.Second}, "AgentCheckRegistration"},
		{"negative TTL", &consul.AgentCheckRegistration{Name: "x", TTL: -time.Second}, "AgentCheckRegistration.TTL"},
		{"negative interval", &consul.AgentCheckRegistration{Name: "x", HTTP: "http://x", Interval: -time.Second}, "AgentCheckRegistration.Interval"},
		{"negative timeout", &consul.AgentCheckRegistration{Name: "x", HTTP: "http://x", Interval: time.Second, Timeout: -1}, "AgentCheckRegistration.Timeout"},
		{"two kinds", &consul.AgentCheckRegistration{Name: "x", HTTP: "http://x", TCP: "x:1", Interval: time.Second}, "AgentCheckRegistration.TCP"},
		{"no interval", &consul.AgentCheckRegistration{Name: "x", HTTP: "http://x"}, "AgentCheckRegistration.Interval"},
		{"bad status", &consul.AgentCheckRegistration{Name: "x", TTL: time.Second, Status: "ok"}, "AgentCheckRegistration.Status"},
		{"docker without args", &consul.AgentCheckRegistration{Name: "x", TCP: "x:1", Interval: time.Second, DockerContainerID: "c"}, "AgentCheckRegistration.ScriptArgs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, c := newWire(t)
			checksTestArgError(t, c.Checks.Register(testCtx(t), tc.check), tc.arg)
			w.noRequest(t)
		})
	}
	w, c := newWire(t)
	ctx := testCtx(t)
	checksTestArgError(t, c.Checks.Deregister(ctx, ""), "checkID")
	checksTestArgError(t, c.Checks.Pass(ctx, "", ""), "checkID")
	checksTestArgError(t, c.Checks.Warn(ctx, "", ""), "checkID")
	checksTestArgError(t, c.Checks.Fail(ctx, "", ""), "checkID")
	checksTestArgError(t, c.Checks.Update(ctx, "", consul.HealthPassing, ""), "checkID")
	checksTestArgError(t, c.Checks.Update(ctx, "x", "maintenance", ""), "status")
	w.noRequest(t)
}

func TestChecksMarkWire(t *testing.T) {
	ctx := testCtx(t)
	for _, tc := range []struct {
		verb string
		call func(c *consul.Client, id, note string) error
	}{
		{"pass", func(c *consul.Client, id, note string) error { return c.Checks.Pass(ctx, id, note) }},
		{"warn", func(c *consul.Client, id, note string) error { return c.Checks.Warn(ctx, id, note) }},
		{"fail", func(c *consul.Client, id, note string) error { return c.Checks.Fail(ctx, id, note) }},
	} {
		t.Run(tc.verb, func(t *testing.T) {
			w, c := newWire(t, reply{})
			require.NoError(t, tc.call(c, "service:web 1", "all good & fine"))
			w.only(t).expect(t, "PUT", "/v1/agent/check/"+tc.verb+"/service:web%201", q("note", "all good & fine"))

			w, c = newWire(t, reply{})
			require.NoError(t, tc.call(c, "mem", ""))
			w.only(t).expect(t, "PUT", "/v1/agent/check/"+tc.verb+"/mem", nil)
		})
	}
}

func TestChecksUpdateWire(t *testing.T) {
	w, c := newWire(t, reply{})
	require.NoError(t, c.Checks.Update(testCtx(t), "mem", consul.HealthWarning, "80% used"))
	s := w.only(t)
	s.expect(t, "PUT", "/v1/agent/check/update/mem", nil)
	require.JSONEq(t, `{"Status":"warning","Output":"80% used"}`, s.Body)
}

func TestChecksDeregisterWire(t *testing.T) {
	w, c := newWire(t, reply{})
	require.NoError(t, c.Checks.Deregister(testCtx(t), "a?b"))
	w.only(t).expect(t, "PUT", "/v1/agent/check/deregister/a%3Fb", nil)

	_, c = newWire(t, reply{Status: 500, Body: `Unknown check "x"`})
	err := c.Checks.Pass(testCtx(t), "x", "")
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, 500, se.StatusCode)
}

func TestChecksIntegrationTTL(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	id := uniq(t, "ttl")
	require.NoError(t, c.Checks.Register(ctx, &consul.AgentCheckRegistration{
		ID: id, Name: "ttl check", Notes: "notes", TTL: time.Minute,
	}))
	t.Cleanup(func() { _ = c.Checks.Deregister(ctx, id) })

	checks, _, err := c.Checks.List(ctx)
	require.NoError(t, err)
	require.Contains(t, checks, id)
	require.Equal(t, consul.HealthCritical, checks[id].Status, "a new check starts critical")
	require.Equal(t, "ttl", checks[id].Type)
	require.Equal(t, "notes", checks[id].Notes)

	for _, step := range []struct {
		mark   func() error
		status consul.HealthStatus
		output string
	}{
		{func() error { return c.Checks.Pass(ctx, id, "fine") }, consul.HealthPassing, "fine"},
		{func() error { return c.Checks.Warn(ctx, id, "hmm") }, consul.HealthWarning, "hmm"},
		{func() error { return c.Checks.Fail(ctx, id, "down") }, consul.HealthCritical, "down"},
		{func() error { return c.Checks.Update(ctx, id, consul.HealthWarning, "via update") }, consul.HealthWarning, "via update"},
	} {
		require.NoError(t, step.mark())
		checks, _, err := c.Checks.List(ctx, consul.Filter(`CheckID == "`+id+`"`))
		require.NoError(t, err)
		require.Len(t, checks, 1, "the filter keeps only this check")
		require.Equal(t, step.status, checks[id].Status)
		require.Equal(t, step.output, checks[id].Output)
	}

	require.NoError(t, c.Checks.Deregister(ctx, id))
	checks, _, err = c.Checks.List(ctx)
	require.NoError(t, err)
	require.NotContains(t, checks, id)

	require.ErrorIs(t, c.Checks.Pass(ctx, id, ""), consul.ErrNotFound, "marking a removed check fails")
	require.ErrorIs(t, c.Checks.Deregister(ctx, id), consul.ErrNotFound)

}

func TestChecksIntegrationHTTP(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	health := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Probe") != "yes" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte("healthy"))
	}))
	t.Cleanup(health.Close)
	id := uniq(t, "http")
	require.NoError(t, c.Checks.Register(ctx, &consul.AgentCheckRegistration{
		ID: id, Name: "http check", HTTP: health.URL, Header: map[string][]string{"X-Probe": {"yes"}},
		Interval: 200 * time.Millisecond, Timeout: time.Second,
	}))
	t.Cleanup(func() { _ = c.Checks.Deregister(ctx, id) })
	require.Eventually(t, func() bool {
		checks, _, err := c.Checks.List(ctx)
		return err == nil && checks[id] != nil && checks[id].Status == consul.HealthPassing
	}, 15*time.Second, 100*time.Millisecond, "the agent probes the HTTP endpoint with the header")
	checks, _, err := c.Checks.List(ctx)
	require.NoError(t, err)
	require.Equal(t, "http", checks[id].Type)
	require.Contains(t, checks[id].Output, "healthy")
	require.Equal(t, 200*time.Millisecond, checks[id].Interval)

	// Only TTL checks take a status from outside.
	var se *consul.StatusError
	require.ErrorAs(t, c.Checks.Fail(ctx, id, ""), &se)
	require.Equal(t, 500, se.StatusCode)

	// A check bound to a service the agent does not know is refused.
	err = c.Checks.Register(ctx, &consul.AgentCheckRegistration{Name: "x", ServiceID: uniq(t, "nope"), TTL: time.Second})
	require.ErrorIs(t, err, consul.ErrNotFound)
}

func TestChecksRegistrationJSONRoundTrip(t *testing.T) {
	in := consul.AgentCheckRegistration{
		ID: "c1", Name: "n", Notes: "x", ServiceID: "web", Status: consul.HealthWarning,
		HTTP: "http://x", Header: map[string][]string{"A": {"b"}}, Interval: 10 * time.Second,
		Timeout: 2 * time.Second, DeregisterCriticalServiceAfter: time.Minute, FailuresBeforeCritical: 3,
	}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	var out consul.AgentCheckRegistration
	require.NoError(t, json.Unmarshal(b, &out))
	require.Equal(t, in, out)

	// A service's check as Consul's config files write it: CheckID, and
	// durations as strings or nanoseconds.
	require.NoError(t, json.Unmarshal([]byte(`{"CheckID":"c2","TTL":"15s","Interval":1000000000}`), &out))
	require.Equal(t, consul.AgentCheckRegistration{ID: "c2", TTL: 15 * time.Second, Interval: time.Second}, out)
}

// TestChecksRegisterSeedTTLWithInterval: aioconsul's documented check sets
// both a TTL and an Interval, which Consul refuses: the Interval of a TTL
// check is not sent (the caller's value is left as it is), and the check
// works as a TTL check against a real agent.
func TestChecksRegisterSeedTTLWithInterval(t *testing.T) {
	w, wc := newWire(t, reply{}, reply{})
	check := &consul.AgentCheckRegistration{ID: "mem", Name: "Memory utilization", TTL: 15 * time.Second, Interval: 10 * time.Second}
	require.NoError(t, wc.Checks.Register(testCtx(t), check))
	require.Equal(t, 10*time.Second, check.Interval, "the caller's registration is not modified")
	require.JSONEq(t, `{"ID":"mem","Name":"Memory utilization","TTL":"15s"}`, w.only(t).Body)
	w.reset(reply{})
	require.NoError(t, wc.Services.Register(testCtx(t), &consul.AgentServiceRegistration{Name: "web",
		Check: &consul.AgentCheckRegistration{TTL: time.Second, Interval: time.Second}}))
	require.JSONEq(t, `{"Name":"web","Check":{"TTL":"1s"}}`, w.only(t).Body)
	// In Checks and in the sidecar's checks alike; the caller's value is kept.
	w.reset(reply{})
	reg := &consul.AgentServiceRegistration{Name: "web",
		Checks: []*consul.AgentCheckRegistration{{HTTP: "http://x", Interval: time.Second}, {TTL: time.Second, Interval: time.Second}},
		Connect: &consul.AgentServiceConnect{SidecarService: &consul.AgentServiceRegistration{
			Check: &consul.AgentCheckRegistration{TTL: time.Second, Interval: time.Second}}}}
	require.NoError(t, wc.Services.Register(testCtx(t), reg))
	require.JSONEq(t, `{"Name":"web","Checks":[{"HTTP":"http://x","Interval":"1s"},{"TTL":"1s"}],
		"Connect":{"SidecarService":{"Check":{"TTL":"1s"}}}}`, w.only(t).Body)
	require.Equal(t, time.Second, reg.Checks[1].Interval)
	require.Equal(t, time.Second, reg.Connect.SidecarService.Check.Interval)

	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	id := "mem-" + t.Name()
	require.NoError(t, c.Checks.Register(ctx, &consul.AgentCheckRegistration{ID: id, Name: "Memory utilization", TTL: 15 * time.Second, Interval: 10 * time.Second}))
	t.Cleanup(func() { _ = c.Checks.Deregister(context.Background(), id) })
	require.NoError(t, c.Checks.Fail(ctx, id, "Fatal"))
	checks, _, err := c.Checks.List(ctx)
	require.NoError(t, err)
	require.Equal(t, consul.HealthCritical, checks[id].Status)
	require.Equal(t, "Fatal", checks[id].Output)
}
