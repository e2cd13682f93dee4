package consul_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/require"
)

const agentTestSelf = `{"Config":{"Datacenter":"dc1","PrimaryDatacenter":"dc1","NodeName":"node1",
 "NodeID":"3c6b2ed5-5b4c-9f3c-8f0a-6a4c2f1d7e11","Revision":"9d1c3f2","Server":true,"Version":"1.19.2",
 "BuildDate":"2024-08-27T16:06:44Z"},
 "DebugConfig":{"NodeName":"node1","ACLsEnabled":false,"Ports":{"HTTP":8500}},
 "Coord":{"Vec":[0,0,0,0,0,0,0,0],"Error":1.5,"Adjustment":0,"Height":0.00001},
 "Member":{"Name":"node1","Addr":"127.0.0.1","Port":8301,"Tags":{"role":"consul","dc":"dc1"},"Status":1,
  "ProtocolMin":1,"ProtocolMax":5,"ProtocolCur":2,"DelegateMin":2,"DelegateMax":5,"DelegateCur":4},
 "Stats":{"agent":{"check_monitors":"0","services":"1"},"runtime":{"goroutines":"120"}},
 "Meta":{"consul-network-segment":"","consul-version":"1.19.2"},
 "xDS":{"SupportedProxies":{"envoy":["1.29.5","1.28.4"]},"Port":8502,"Ports":{"Plaintext":8502,"TLS":-1}}}`

func TestAgentSelfWire(t *testing.T) {
	w, c := newWire(t, reply{Body: agentTestSelf})
	self, _, err := c.Agent.Self(testCtx(t))
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/agent/self", nil)
	require.Equal(t, consul.AgentSelfConfig{Datacenter: "dc1", PrimaryDatacenter: "dc1", NodeName: "node1",
		NodeID: "3c6b2ed5-5b4c-9f3c-8f0a-6a4c2f1d7e11", Revision: "9d1c3f2", Server: true, Version: "1.19.2",
		BuildDate: "2024-08-27T16:06:44Z"}, self.Config)
	require.Equal(t, "node1", self.Member.Name)
	require.Equal(t, consul.MemberAlive, self.Member.Status)
	require.Equal(t, "120", self.Stats["runtime"]["goroutines"])
	require.Equal(t, "1.19.2", self.Meta["consul-version"])
	require.Equal(t, false, self.DebugConfig["ACLsEnabled"])
	require.Equal(t, &consul.Coordinate{Vec: make([]float64, 8), Error: 1.5, Height: 0.00001}, self.Coord)
	require.Equal(t, 8502, self.XDS.Ports.Plaintext)
	require.Equal(t, []string{"1.29.5", "1.28.4"}, self.XDS.SupportedProxies["envoy"])

	_, c = newWire(t, reply{Status: 403, Body: "Permission denied"})
	_, _, err = c.Agent.Self(testCtx(t))
	require.ErrorIs(t, err, consul.ErrPermissionDenied)
}

func TestAgentHostVersionWire(t *testing.T) {
	ctx := testCtx(t)
	w, c := newWire(t, reply{Body: `{"Memory":{"total":8000,"available":4000,"used":3000,"usedPercent":37.5,"free":1000},
	 "CPU":[{"cpu":0,"vendorId":"GenuineIntel","family":"6","model":"85","modelName":"Xeon","cores":1,"mhz":2000}],
	 "Host":{"hostname":"h1","uptime":100,"bootTime":1700000000,"procs":50,"os":"linux","platform":"debian",
	  "platformFamily":"debian","platformVersion":"12","kernelVersion":"6.1","kernelArch":"x86_64","hostId":"abc"},
	 "Disk":{"path":"/data","fstype":"ext4","total":100,"free":60,"used":40,"usedPercent":40},
	 "CollectionTime":1700000000000000000,"Errors":null}`})
	host, _, err := c.Agent.Host(ctx)
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/agent/host", nil)
	require.Equal(t, uint64(8000), host.Memory.Total)
	require.Equal(t, "Xeon", host.CPU[0].ModelName)
	require.Equal(t, "h1", host.Host.Hostname)
	require.Equal(t, "/data", host.Disk.Path)
	require.Equal(t, int64(1700000000000000000), host.CollectionTime)

	w, c = newWire(t, reply{Body: `{"SHA":"9d1c3f2","BuildDate":"2024-08-27T16:06:44Z","HumanVersion":"1.19.2","FIPS":""}`})
	v, _, err := c.Agent.Version(ctx)
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/agent/version", nil)
	require.Equal(t, &consul.AgentVersion{HumanVersion: "1.19.2", SHA: "9d1c3f2", BuildDate: "2024-08-27T16:06:44Z"}, v)
}

const agentTestMetrics = `{"Timestamp":"2024-08-20 10:00:00 +0000 UTC",
 "Gauges":[{"Name":"consul.runtime.num_goroutines","Value":120,"Labels":{}}],
 "Points":[],
 "Counters":[{"Name":"consul.rpc.request","Count":3,"Rate":0.3,"Sum":3,"Min":1,"Max":1,"Mean":1,"Stddev":0,"Labels":{"method":"Status.Ping"}}],
 "Samples":[{"Name":"consul.http.GET.v1.agent.self","Count":2,"Rate":0.05,"Sum":0.5,"Min":0.2,"Max":0.3,"Mean":0.25,"Stddev":0.07,"Labels":{}}]}`

func TestAgentMetricsWire(t *testing.T) {
	w, c := newWire(t, reply{Body: agentTestMetrics})
	m, _, err := c.Agent.Metrics(testCtx(t))
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/agent/metrics", nil)
	require.Equal(t, "2024-08-20 10:00:00 +0000 UTC", m.Timestamp)
	require.Equal(t, consul.AgentMetricGauge{Name: "consul.runtime.num_goroutines", Value: 120, Labels: map[string]string{}}, m.Gauges[0])
	require.Equal(t, "Status.Ping", m.Counters[0].Labels["method"])
	require.Equal(t, 3, m.Counters[0].Count)
	require.InDelta(t, 0.25, m.Samples[0].Mean, 1e-9)
}

func TestAgentMetricsPrometheusWire(t *testing.T) {
	body := "# HELP consul_runtime_num_goroutines Number of goroutines\n# TYPE consul_runtime_num_goroutines gauge\nconsul_runtime_num_goroutines 120\n"
	w, c := newWire(t, reply{Header: map[string]string{"Content-Type": "text/plain; version=0.0.4"}, Body: body})
	out, _, err := c.Agent.MetricsPrometheus(testCtx(t))
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/agent/metrics", q("format", "prometheus"))
	require.Equal(t, body, string(out))

	_, c = newWire(t, reply{Status: 415, Body: "Prometheus is not enabled since its retention time is not positive"})
	_, _, err = c.Agent.MetricsPrometheus(testCtx(t))
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, http.StatusUnsupportedMediaType, se.StatusCode)
}

func TestAgentIntegrationMetricsPrometheus(t *testing.T) {
	srv := consultest.NewServer(t, consultest.Config{Extra: map[string]any{
		"telemetry": map[string]any{"disable_hostname": true, "prometheus_retention_time": "1m"},
	}})
	c := newClient(t, srv)
	out, _, err := c.Agent.MetricsPrometheus(testCtx(t))
	require.NoError(t, err)
	require.Contains(t, string(out), "# TYPE consul_")

	// The shared agent has no Prometheus retention: 1.19.2 answers nothing.
	out, _, err = newClient(t, testAgent(t)).Agent.MetricsPrometheus(testCtx(t))
	require.NoError(t, err)
	require.NotContains(t, string(out), "# TYPE consul_")
}

func TestAgentMetricsStreamWire(t *testing.T) {
	// Consul writes indented summaries one after the other.
	w, c := newWire(t, reply{Body: agentTestMetrics + "\n" + strings.ReplaceAll(agentTestMetrics, "10:00:00", "10:00:10") + "\n"})
	var got []string
	var errs []error
	for m, err := range c.Agent.MetricsStream(testCtx(t), consul.Token("tok")) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got = append(got, m.Timestamp)
	}
	s := w.only(t)
	s.expect(t, "GET", "/v1/agent/metrics/stream", nil)
	require.Equal(t, "tok", s.Header.Get("X-Consul-Token"))
	require.Equal(t, []string{"2024-08-20 10:00:00 +0000 UTC", "2024-08-20 10:00:10 +0000 UTC"}, got)
	require.Len(t, errs, 1, "the stream cut by the server is an error")
	require.ErrorIs(t, errs[0], io.ErrUnexpectedEOF)

	_, c = newWire(t, reply{Status: 403, Body: "Permission denied"})
	for _, err := range c.Agent.MetricsStream(testCtx(t)) {
		require.ErrorIs(t, err, consul.ErrPermissionDenied)
	}
}

func TestAgentMonitorWire(t *testing.T) {
	w, c := newWire(t, reply{Body: "2024-08-20T10:00:00.000Z [INFO]  agent: one\n2024-08-20T10:00:00.001Z [DEBUG] agent: two\n"})
	var lines []string
	for line, err := range c.Agent.Monitor(testCtx(t), "DEBUG", consul.AgentMonitorJSON()) {
		if err != nil {
			require.ErrorIs(t, err, io.ErrUnexpectedEOF)
			break
		}
		lines = append(lines, line)
	}
	w.only(t).expect(t, "GET", "/v1/agent/monitor", q("loglevel", "debug", "logjson", ""))
	require.Equal(t, []string{"2024-08-20T10:00:00.000Z [INFO]  agent: one", "2024-08-20T10:00:00.001Z [DEBUG] agent: two"}, lines)

	w, c = newWire(t, reply{Body: "x\n"})
	for line, err := range c.Agent.Monitor(testCtx(t), "") {
		require.NoError(t, err)
		require.Equal(t, "x", line)
		break // breaking ends the stream
	}
	w.only(t).expect(t, "GET", "/v1/agent/monitor", nil)

	w, c = newWire(t)
	n := 0
	for _, err := range c.Agent.Monitor(testCtx(t), "loud") {
		n++
		checksTestArgError(t, err, "level")
	}
	require.Equal(t, 1, n)
	w.noRequest(t)
}

func TestAgentMaintenanceReloadWire(t *testing.T) {
	ctx := testCtx(t)
	w, c := newWire(t, reply{})
	require.NoError(t, c.Agent.EnableMaintenance(ctx, "migrating: db & co"))
	w.only(t).expect(t, "PUT", "/v1/agent/maintenance", q("enable", "true", "reason", "migrating: db & co"))

	w, c = newWire(t, reply{})
	require.NoError(t, c.Agent.DisableMaintenance(ctx))
	w.only(t).expect(t, "PUT", "/v1/agent/maintenance", q("enable", "false"))

	w, c = newWire(t, reply{})
	require.NoError(t, c.Agent.Reload(ctx))
	w.only(t).expect(t, "PUT", "/v1/agent/reload", nil)
}

func TestAgentUpdateTokenWire(t *testing.T) {
	ctx := testCtx(t)
	for _, kind := range []consul.AgentTokenKind{consul.AgentTokenDefault, consul.AgentTokenAgent,
		consul.AgentTokenAgentRecovery, consul.AgentTokenReplication,
		consul.AgentTokenConfigFileServiceRegistration, consul.AgentTokenDNS} {
		w, c := newWire(t, reply{})
		require.NoError(t, c.Agent.SetToken(ctx, kind, "secret-token", consul.Token("mgmt")))
		s := w.only(t)
		s.expect(t, "PUT", "/v1/agent/token/"+string(kind), nil)
		require.JSONEq(t, `{"Token":"secret-token"}`, s.Body)
		require.Equal(t, "mgmt", s.Header.Get("X-Consul-Token"))
	}
	_, c := newWire(t, reply{Status: 404, Body: `Token "x" is unknown`})
	err := c.Agent.SetToken(ctx, "x", "secret-token")
	require.ErrorIs(t, err, consul.ErrNotFound)
	require.NotContains(t, err.Error(), "secret-token")

	w, c := newWire(t)
	checksTestArgError(t, c.Agent.SetToken(ctx, "", "t"), "kind")
	w.noRequest(t)
}

func TestAgentConnectWire(t *testing.T) {
	ctx := testCtx(t)
	w, c := newWire(t, reply{Header: map[string]string{"X-Consul-Index": "12", "X-Cache": "HIT", "Age": "3"},
		Body: `{"ActiveRootID":"aa:bb","TrustDomain":"11111111-2222-3333-4444-555555555555.consul",
		"Roots":[{"ID":"aa:bb","Name":"Consul CA Primary Cert","SerialNumber":7,"SigningKeyID":"cc:dd",
		"ExternalTrustDomain":"11111111-2222-3333-4444-555555555555","NotBefore":"2024-08-20T10:00:00Z",
		"NotAfter":"2034-08-20T10:00:00Z","RootCert":"-----BEGIN CERTIFICATE-----\n","IntermediateCerts":null,
		"Active":true,"PrivateKeyType":"ec","PrivateKeyBits":256,"CreateIndex":10,"ModifyIndex":10}]}`})
	roots, meta, err := c.Agent.CARoots(ctx, consul.WaitIndex(5))
	require.NoError(t, err)
	// The agent always answers from its cache: ?cached is not an option here.
	w.only(t).expect(t, "GET", "/v1/agent/connect/ca/roots", q("index", "5"))
	require.Equal(t, uint64(12), meta.Index)
	require.True(t, meta.CacheHit)
	require.Equal(t, "aa:bb", roots.ActiveRootID)
	require.Len(t, roots.Roots, 1)
	require.True(t, roots.Roots[0].Active)
	require.Equal(t, uint64(7), roots.Roots[0].SerialNumber)
	require.Equal(t, 2034, roots.Roots[0].NotAfter.Year())

	w, c = newWire(t, reply{Body: `{"SerialNumber":"01:02","CertPEM":"-----BEGIN CERTIFICATE-----\n",
	 "PrivateKeyPEM":"-----BEGIN EC PRIVATE KEY-----\n","Service":"web",
	 "ServiceURI":"spiffe://1111.consul/ns/default/dc/dc1/svc/web",
	 "ValidAfter":"2024-08-20T10:00:00Z","ValidBefore":"2024-08-23T10:00:00Z","CreateIndex":20,"ModifyIndex":20}`})
	leaf, _, err := c.Agent.LeafCert(ctx, "web app")
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/agent/connect/ca/leaf/web%20app", nil)
	require.Equal(t, "web", leaf.Service)
	require.Equal(t, "01:02", leaf.SerialNumber)
	require.Equal(t, 23, leaf.ValidBefore.Day())

	w, c = newWire(t, reply{Body: `{"Authorized":true,"Reason":"Default behavior configured by ACLs"}`})
	auth, _, err := c.Agent.Authorize(ctx, &consul.AgentAuthorizeRequest{Target: "db",
		ClientCertURI: "spiffe://1111.consul/ns/default/dc/dc1/svc/web"})
	require.NoError(t, err)
	s := w.only(t)
	s.expect(t, "POST", "/v1/agent/connect/authorize", nil)
	require.JSONEq(t, `{"Target":"db","ClientCertURI":"spiffe://1111.consul/ns/default/dc/dc1/svc/web"}`, s.Body)
	require.Equal(t, &consul.AgentAuthorization{Authorized: true, Reason: "Default behavior configured by ACLs"}, auth)

	w, c = newWire(t)
	_, _, err = c.Agent.LeafCert(ctx, "")
	checksTestArgError(t, err, "service")
	_, _, err = c.Agent.Authorize(ctx, &consul.AgentAuthorizeRequest{ClientCertURI: "spiffe://x"})
	checksTestArgError(t, err, "AgentAuthorizeRequest.Target")
	_, _, err = c.Agent.Authorize(ctx, &consul.AgentAuthorizeRequest{Target: "db"})
	checksTestArgError(t, err, "AgentAuthorizeRequest.ClientCertURI")
	w.noRequest(t)
}

func TestAgentIntegrationInfo(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)

	self, _, err := c.Agent.Self(ctx)
	require.NoError(t, err)
	require.Equal(t, srv.NodeName, self.Config.NodeName)
	require.Equal(t, srv.Datacenter, self.Config.Datacenter)
	require.True(t, self.Config.Server)
	require.True(t, strings.HasPrefix(self.Config.Version, srv.Version), "self reports %q, the binary %q", self.Config.Version, srv.Version)
	require.Equal(t, srv.NodeName, self.Member.Name)
	require.Equal(t, consul.MemberAlive, self.Member.Status)
	require.NotEmpty(t, self.Stats["agent"])
	require.Equal(t, srv.NodeName, self.DebugConfig["NodeName"])
	require.NotNil(t, self.Coord)
	require.Len(t, self.Coord.Vec, 8)

	host, _, err := c.Agent.Host(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, host.Host.Hostname)
	require.NotZero(t, host.Memory.Total)
	require.NotEmpty(t, host.CPU)

	v, _, err := c.Agent.Version(ctx)
	require.NoError(t, err)
	require.Equal(t, srv.Version, v.HumanVersion, "the version the binary reports")
	require.True(t, strings.HasPrefix(self.Config.Version, v.HumanVersion), "the version self reports")

	// A young agent can fail to encode a NaN statistic (a Consul bug, a
	// 500 "json: unsupported value: NaN"): retry a little.
	var m *consul.AgentMetrics
	require.Eventually(t, func() bool {
		m, _, err = c.Agent.Metrics(ctx)
		return err == nil
	}, 15*time.Second, 500*time.Millisecond, "metrics: %v", err)
	require.NotEmpty(t, m.Timestamp)
	require.NotEmpty(t, m.Gauges)

	require.NoError(t, c.Agent.Reload(ctx))

	// Tokens cannot be set with ACLs off: Consul answers 401.
	err = c.Agent.SetToken(ctx, consul.AgentTokenDefault, "x")
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, http.StatusUnauthorized, se.StatusCode)
}

func TestAgentIntegrationMaintenance(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	t.Cleanup(func() { _ = c.Agent.DisableMaintenance(context.Background()) })

	require.NoError(t, c.Agent.EnableMaintenance(ctx, "migrating"))
	checks, _, err := c.Checks.List(ctx)
	require.NoError(t, err)
	require.Contains(t, checks, "_node_maintenance")
	require.Equal(t, consul.HealthCritical, checks["_node_maintenance"].Status)
	require.Equal(t, "migrating", checks["_node_maintenance"].Notes)

	require.NoError(t, c.Agent.DisableMaintenance(ctx))
	checks, _, err = c.Checks.List(ctx)
	require.NoError(t, err)
	require.NotContains(t, checks, "_node_maintenance")
}

func TestAgentIntegrationMetricsStream(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx, cancel := context.WithTimeout(testCtx(t), 30*time.Second)
	defer cancel()
	var got *consul.AgentMetrics
	// Retry once a stream cut by Consul's NaN encoding bug (see
	// TestAgentIntegrationInfo).
	for attempt := 0; attempt < 3 && got == nil; attempt++ {
		for m, err := range c.Agent.MetricsStream(ctx) {
			if err != nil {
				require.ErrorIs(t, err, io.ErrUnexpectedEOF)
				break
			}
			got = m
			break
		}
	}
	require.NotNil(t, got, "one interval within 30s")
	require.NotEmpty(t, got.Timestamp)
	require.NotEmpty(t, got.Gauges)
}

// TestAgentIntegrationMonitor reads real log lines and checks that nothing
// remains running once the context ends or the loop breaks.
func TestAgentIntegrationMonitor(t *testing.T) {
	srv := testAgent(t)
	// Own transports, so that their idle connections can be closed and the
	// goroutine count compared.
	monTr := &http.Transport{}
	pingTr := &http.Transport{}
	mon := newClient(t, srv, consul.Config{Transport: monTr})
	ping := newClient(t, srv, consul.Config{Transport: pingTr})

	settle := func(limit int) {
		t.Helper()
		monTr.CloseIdleConnections()
		pingTr.CloseIdleConnections()
		// A plain loop: testify's Eventually runs its condition in a
		// goroutine of its own, which would be counted.
		for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > limit; {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Fatalf("goroutines did not settle back to %d (now %d):\n%s", limit, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// pinger makes the agent log debug lines until stopped.
	pinger := func() (stop func()) {
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				case <-time.After(50 * time.Millisecond):
					_, _, _ = ping.Agent.Version(context.Background())
				}
			}
		}()
		return func() { close(done); wg.Wait() }
	}

	before := runtime.NumGoroutine()

	// The context ends the stream, quietly.
	stop := pinger()
	ctx, cancel := context.WithCancel(testCtx(t))
	var lines []string
	for line, err := range mon.Agent.Monitor(ctx, "debug") {
		require.NoError(t, err)
		lines = append(lines, line)
		if len(lines) == 5 {
			cancel()
		}
	}
	cancel()
	stop()
	require.GreaterOrEqual(t, len(lines), 5)
	require.True(t, agentTestContainsSub(lines, "/v1/agent/version"), "real request logs: %q", lines)
	require.True(t, agentTestContainsSub(lines, "[DEBUG]"), "debug level: %q", lines)
	settle(before)

	// Breaking out ends it too; JSON lines decode.
	stop = pinger()
	var entry map[string]any
	for line, err := range mon.Agent.Monitor(testCtx(t), "DEBUG", consul.AgentMonitorJSON()) {
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal([]byte(line), &entry), line)
		break
	}
	stop()
	require.Contains(t, entry, "@message")
	settle(before)

	// A bad level and a cancelled context end at once.
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	for _, err := range mon.Agent.Monitor(done, "debug") {
		t.Fatalf("nothing is yielded once the context ended, got %v", err)
	}
	for _, err := range mon.Agent.Monitor(testCtx(t), "verbose") {
		var ae *consul.ArgumentError
		require.True(t, errors.As(err, &ae))
	}
	settle(before)
}

func agentTestContainsSub(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

func TestAgentIntegrationToken(t *testing.T) {
	srv := testACLAgent(t)
	admin := newClient(t, srv, consul.Config{Token: srv.ManagementToken})
	anon := newClient(t, srv)
	ctx := testCtx(t)

	_, _, err := anon.Agent.Self(ctx)
	require.ErrorIs(t, err, consul.ErrPermissionDenied, "anonymous is denied by default")
	require.ErrorIs(t, anon.Agent.SetToken(ctx, consul.AgentTokenDefault, srv.ManagementToken), consul.ErrPermissionDenied)

	// The default token is what requests without a token use: setting it
	// to the management token lets the anonymous client in.
	require.NoError(t, admin.Agent.SetToken(ctx, consul.AgentTokenDefault, srv.ManagementToken))
	t.Cleanup(func() { _ = admin.Agent.SetToken(context.Background(), consul.AgentTokenDefault, "") })
	self, _, err := anon.Agent.Self(ctx)
	require.NoError(t, err)
	require.Equal(t, srv.NodeName, self.Config.NodeName)

	require.NoError(t, admin.Agent.SetToken(ctx, consul.AgentTokenDefault, ""))
	_, _, err = anon.Agent.Self(ctx)
	require.ErrorIs(t, err, consul.ErrPermissionDenied, "cleared again")

	for _, kind := range []consul.AgentTokenKind{consul.AgentTokenAgent, consul.AgentTokenDNS,
		consul.AgentTokenConfigFileServiceRegistration, consul.AgentTokenAgentRecovery, consul.AgentTokenReplication} {
		tok := srv.ManagementToken
		if kind == consul.AgentTokenAgentRecovery || kind == consul.AgentTokenReplication {
			tok = ""
		}
		require.NoError(t, admin.Agent.SetToken(ctx, kind, tok), kind)
	}
	require.ErrorIs(t, admin.Agent.SetToken(ctx, "nope", "x"), consul.ErrNotFound)
}

func TestAgentIntegrationConnect(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)

	roots, meta, err := c.Agent.CARoots(ctx)
	require.NoError(t, err)
	require.NotZero(t, meta.Index)
	require.NotEmpty(t, roots.Roots)
	require.True(t, strings.HasSuffix(roots.TrustDomain, ".consul"), roots.TrustDomain)
	active := roots.Active()
	require.NotNil(t, active)
	require.True(t, active.Active)
	require.Contains(t, active.RootCert, "BEGIN CERTIFICATE")

	leaf, _, err := c.Agent.LeafCert(ctx, "web")
	require.NoError(t, err)
	require.Equal(t, "web", leaf.Service)
	require.Contains(t, leaf.CertPEM, "BEGIN CERTIFICATE")
	require.Contains(t, leaf.PrivateKeyPEM, "PRIVATE KEY")
	require.True(t, strings.HasSuffix(leaf.ServiceURI, "/svc/web"), leaf.ServiceURI)
	require.True(t, leaf.ValidBefore.After(time.Now()))

	auth, _, err := c.Agent.Authorize(ctx, &consul.AgentAuthorizeRequest{Target: "db", ClientCertURI: leaf.ServiceURI})
	require.NoError(t, err)
	require.True(t, auth.Authorized, "ACLs off: allowed by default")
	require.NotEmpty(t, auth.Reason)

	_, _, err = c.Agent.Authorize(ctx, &consul.AgentAuthorizeRequest{Target: "db", ClientCertURI: "not-a-uri"})
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, http.StatusBadRequest, se.StatusCode)
}

// Stream the agent's debug log for a minute.
func ExampleAgentService_Monitor() {
	client, err := consul.NewClient(consul.Config{})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for line, err := range client.Agent.Monitor(ctx, "debug") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(line)
	}
}
