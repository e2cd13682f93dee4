package consul_test

import (
	"context"
	"fmt"
	"log"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/require"
)

// servicesTestAgentService is an answer of GET /v1/agent/service/:id as a
// 1.19.2 agent writes it.
const servicesTestAgentService = `{"ID":"redis1","Service":"redis","Tags":["master","v1"],"Meta":{"env":"prod"},
 "Port":6379,"Address":"10.0.0.1","TaggedAddresses":{"lan_ipv4":{"Address":"10.0.0.1","Port":6379}},
 "Weights":{"Passing":3,"Warning":1},"EnableTagOverride":false,"Datacenter":"dc1",
 "ContentHash":"4fb2b6e0a8b6b8b3","CreateIndex":0,"ModifyIndex":0}`

func TestServicesListWire(t *testing.T) {
	w, c := newWire(t, reply{Body: `{"redis1":` + servicesTestAgentService + `}`})
	list, _, err := c.Services.List(testCtx(t), consul.Filter(`Service == "redis"`))
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/agent/services", q("filter", `Service == "redis"`))
	require.Len(t, list, 1)
	s := list["redis1"]
	require.Equal(t, "redis", s.Service)
	require.Equal(t, []string{"master", "v1"}, s.Tags)
	require.Equal(t, 6379, s.Port)
	require.Equal(t, consul.ServiceAddress{Address: "10.0.0.1", Port: 6379}, s.TaggedAddresses["lan_ipv4"])
	require.Equal(t, &consul.Weights{Passing: 3, Warning: 1}, s.Weights)
	require.Equal(t, "prod", s.Meta["env"])

	_, c = newWire(t, reply{Body: `{}`})
	list, _, err = c.Services.List(testCtx(t))
	require.NoError(t, err)
	require.NotNil(t, list)
	require.Empty(t, list)
}

func TestServicesGetWire(t *testing.T) {
	w, c := newWire(t, reply{Header: map[string]string{"X-Consul-ContentHash": "4fb2b6e0a8b6b8b3"}, Body: servicesTestAgentService})
	svc, meta, err := c.Services.Get(testCtx(t), "redis?1", consul.WaitHash("abc"), consul.WaitTime(2*time.Second))
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/agent/service/redis%3F1", q("hash", "abc", "wait", "2s"))
	require.Equal(t, "redis1", svc.ID)
	require.Equal(t, "4fb2b6e0a8b6b8b3", meta.ContentHash)
	require.Equal(t, "4fb2b6e0a8b6b8b3", svc.ContentHash)

	_, c = newWire(t, reply{Status: 404, Body: "unknown service ID: x"})
	svc, meta, err = c.Services.Get(testCtx(t), "x")
	require.NoError(t, err, "a missing service is not an error")
	require.Nil(t, svc)
	require.NotNil(t, meta)
}

func TestServicesRegisterWire(t *testing.T) {
	w, c := newWire(t, reply{})
	err := c.Services.Register(testCtx(t), &consul.AgentServiceRegistration{
		ID: "redis1", Name: "redis", Tags: []string{"master", "v1"}, Port: 6379, Address: "10.0.0.1",
		TaggedAddresses:   map[string]consul.ServiceAddress{"wan": {Address: "1.2.3.4", Port: 16379}},
		Meta:              map[string]string{"env": "prod"},
		Weights:           &consul.Weights{Passing: 10, Warning: 1},
		EnableTagOverride: true,
		Locality:          &consul.Locality{Region: "eu", Zone: "eu-1"},
		Check:             &consul.AgentCheckRegistration{ID: "redis-ttl", TTL: 30 * time.Second, ServiceID: "ignored"},
		Checks: []*consul.AgentCheckRegistration{
			{Name: "tcp", TCP: "10.0.0.1:6379", Interval: 10 * time.Second, Timeout: 2 * time.Second},
		},
		Connect: &consul.AgentServiceConnect{SidecarService: &consul.AgentServiceRegistration{Port: 21000}},
	}, consul.ServicesReplaceChecks())
	require.NoError(t, err)
	s := w.only(t)
	s.expect(t, "PUT", "/v1/agent/service/register", q("replace-existing-checks", "true"))
	require.JSONEq(t, `{"ID":"redis1","Name":"redis","Tags":["master","v1"],"Address":"10.0.0.1",
		"TaggedAddresses":{"wan":{"Address":"1.2.3.4","Port":16379}},"Meta":{"env":"prod"},"Port":6379,
		"Weights":{"Passing":10,"Warning":1},"EnableTagOverride":true,"Locality":{"Region":"eu","Zone":"eu-1"},
		"Check":{"CheckID":"redis-ttl","TTL":"30s"},
		"Checks":[{"Name":"tcp","TCP":"10.0.0.1:6379","Interval":"10s","Timeout":"2s"}],
		"Connect":{"SidecarService":{"Port":21000}}}`, s.Body)
}

func TestServicesRegisterWireProxy(t *testing.T) {
	w, c := newWire(t, reply{})
	err := c.Services.Register(testCtx(t), &consul.AgentServiceRegistration{
		Kind: consul.ServiceKindConnectProxy, Name: "web-proxy", Port: 21000,
		Proxy: &consul.ServiceProxy{DestinationServiceName: "web", LocalServicePort: 8080,
			Upstreams: []consul.ProxyUpstream{{DestinationName: "db", LocalBindPort: 9191}}},
	})
	require.NoError(t, err)
	require.JSONEq(t, `{"Kind":"connect-proxy","Name":"web-proxy","Port":21000,
		"Proxy":{"DestinationServiceName":"web","LocalServicePort":8080,
		"Upstreams":[{"DestinationName":"db","LocalBindPort":9191}]}}`, w.only(t).Body)
}

func TestServicesBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		reg  *consul.AgentServiceRegistration
		arg  string
	}{
		{"nil", nil, "AgentServiceRegistration"},
		{"empty name", &consul.AgentServiceRegistration{ID: "x"}, "AgentServiceRegistration.Name"},
		{"bad port", &consul.AgentServiceRegistration{Name: "x", Port: 70000}, "AgentServiceRegistration.Port"},
		{"zero passing weight", &consul.AgentServiceRegistration{Name: "x", Weights: &consul.Weights{}}, "AgentServiceRegistration.Weights.Passing"},
		{"check with no kind", &consul.AgentServiceRegistration{Name: "x", Check: &consul.AgentCheckRegistration{Name: "c"}}, "AgentServiceRegistration.Check"},
		{"negative TTL", &consul.AgentServiceRegistration{Name: "x", Checks: []*consul.AgentCheckRegistration{
			{TTL: time.Second}, {TTL: -time.Second}}}, "AgentServiceRegistration.Checks[1].TTL"},
		{"check token", &consul.AgentServiceRegistration{Name: "x", Check: &consul.AgentCheckRegistration{TTL: time.Second, Token: "t"}}, "AgentServiceRegistration.Check.Token"},
		{"sidecar check", &consul.AgentServiceRegistration{Name: "x", Connect: &consul.AgentServiceConnect{
			SidecarService: &consul.AgentServiceRegistration{Check: &consul.AgentCheckRegistration{Interval: time.Second}}}},
			"AgentServiceRegistration.Connect.SidecarService.Check"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, c := newWire(t)
			checksTestArgError(t, c.Services.Register(testCtx(t), tc.reg), tc.arg)
			w.noRequest(t)
		})
	}
	w, c := newWire(t)
	ctx := testCtx(t)
	_, _, err := c.Services.Get(ctx, "")
	checksTestArgError(t, err, "serviceID")
	checksTestArgError(t, c.Services.Deregister(ctx, ""), "serviceID")
	checksTestArgError(t, c.Services.EnableMaintenance(ctx, "", "r"), "serviceID")
	checksTestArgError(t, c.Services.DisableMaintenance(ctx, ""), "serviceID")
	_, _, err = c.Services.GetHealthByID(ctx, "")
	checksTestArgError(t, err, "serviceID")
	_, _, _, err = c.Services.GetHealthByName(ctx, "")
	checksTestArgError(t, err, "name")
	w.noRequest(t)
}

func TestServicesDeregisterAndMaintenanceWire(t *testing.T) {
	ctx := testCtx(t)
	w, c := newWire(t, reply{})
	require.NoError(t, c.Services.Deregister(ctx, "redis 1"))
	w.only(t).expect(t, "PUT", "/v1/agent/service/deregister/redis%201", nil)

	w, c = newWire(t, reply{})
	require.NoError(t, c.Services.EnableMaintenance(ctx, "redis1", "migrating now"))
	w.only(t).expect(t, "PUT", "/v1/agent/service/maintenance/redis1", q("enable", "true", "reason", "migrating now"))

	w, c = newWire(t, reply{})
	require.NoError(t, c.Services.DisableMaintenance(ctx, "redis1"))
	w.only(t).expect(t, "PUT", "/v1/agent/service/maintenance/redis1", q("enable", "false"))

	_, c = newWire(t, reply{Status: 404, Body: "No service registered with ID \"x\""})
	require.ErrorIs(t, c.Services.EnableMaintenance(ctx, "x", ""), consul.ErrNotFound)
}

const servicesTestHealth = `{"AggregatedStatus":"%s","Service":` + servicesTestAgentService + `,
 "Checks":[{"Node":"n1","CheckID":"service:redis1","Name":"Service 'redis' check","Status":"%s",
 "Notes":"","Output":"","ServiceID":"redis1","ServiceName":"redis","ServiceTags":["master","v1"],
 "Type":"","Interval":"","Timeout":"","ExposedPort":0,"Definition":{},"CreateIndex":0,"ModifyIndex":0}]}`

func servicesTestHealthBody(status consul.HealthStatus) string {
	return fmt.Sprintf(servicesTestHealth, status, status)
}

func TestServicesHealthByIDWire(t *testing.T) {
	ctx := testCtx(t)
	for _, tc := range []struct {
		code   int
		status consul.HealthStatus
	}{{200, consul.HealthPassing}, {429, consul.HealthWarning}, {503, consul.HealthCritical}} {
		w, c := newWire(t, reply{Status: tc.code, Body: servicesTestHealthBody(tc.status)})
		h, _, err := c.Services.GetHealthByID(ctx, "redis1")
		require.NoError(t, err, "status %d is a result", tc.code)
		w.only(t).expect(t, "GET", "/v1/agent/health/service/id/redis1", nil)
		require.Equal(t, tc.status, h.AggregatedStatus)
		require.Equal(t, "redis", h.Service.Service)
		require.Len(t, h.Checks, 1)
		require.Equal(t, tc.status, h.Checks[0].Status)
	}
	_, c := newWire(t, reply{Status: 404, Body: `{"AggregatedStatus":"critical","Service":null,"Checks":null}`})
	h, meta, err := c.Services.GetHealthByID(ctx, "nope")
	require.NoError(t, err)
	require.Nil(t, h)
	require.NotNil(t, meta)

	_, c = newWire(t, reply{Status: 403, Body: "Permission denied"})
	_, _, err = c.Services.GetHealthByID(ctx, "redis1")
	require.ErrorIs(t, err, consul.ErrPermissionDenied)
}

func TestServicesHealthByNameWire(t *testing.T) {
	ctx := testCtx(t)
	body := "[" + servicesTestHealthBody(consul.HealthPassing) + "," + servicesTestHealthBody(consul.HealthWarning) + "]"
	w, c := newWire(t, reply{Status: 429, Body: body})
	status, list, _, err := c.Services.GetHealthByName(ctx, "redis")
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/agent/health/service/name/redis", nil)
	require.Equal(t, consul.HealthWarning, status)
	require.Len(t, list, 2)

	body = "[" + servicesTestHealthBody(consul.HealthMaintenance) + "," + servicesTestHealthBody(consul.HealthCritical) + "]"
	_, c = newWire(t, reply{Status: 503, Body: body})
	status, _, _, err = c.Services.GetHealthByName(ctx, "redis")
	require.NoError(t, err)
	require.Equal(t, consul.HealthMaintenance, status)

	_, c = newWire(t, reply{Status: 404, Body: `[]`})
	status, list, _, err = c.Services.GetHealthByName(ctx, "nope")
	require.NoError(t, err)
	require.Equal(t, consul.HealthStatus(""), status)
	require.NotNil(t, list)
	require.Empty(t, list)
}

// TestServicesIntegrationTTL walks a service with a TTL check through
// passing, warning and critical, and through maintenance, watching both the
// agent's check list and its local health endpoint.
func TestServicesIntegrationTTL(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	name := uniq(t, "svc")
	id := name + "-1"
	checkID := id + "-ttl"
	require.NoError(t, c.Services.Register(ctx, &consul.AgentServiceRegistration{
		ID: id, Name: name, Tags: []string{"v1"}, Port: 8080, Meta: map[string]string{"env": "test"},
		Check: &consul.AgentCheckRegistration{ID: checkID, Name: "ttl", TTL: time.Minute},
	}))
	t.Cleanup(func() { _ = c.Services.Deregister(ctx, id) })

	assertStatus := func(want consul.HealthStatus) {
		t.Helper()
		checks, _, err := c.Checks.List(ctx, consul.Filter(`ServiceID == "`+id+`"`))
		require.NoError(t, err)
		worst := consul.HealthPassing
		for _, chk := range checks {
			if chk.Status != consul.HealthPassing {
				worst = chk.Status
			}
		}
		require.Equal(t, want, worst, "Checks.List")
		status, list, _, err := c.Services.GetHealthByName(ctx, name)
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Equal(t, want, list[0].AggregatedStatus)
		require.Equal(t, id, list[0].Service.ID)
		h, _, err := c.Services.GetHealthByID(ctx, id)
		require.NoError(t, err)
		require.Equal(t, want, h.AggregatedStatus)
		require.Equal(t, want, status, "GetHealthByName")
	}

	assertStatus(consul.HealthCritical)
	require.NoError(t, c.Checks.Pass(ctx, checkID, "ok"))
	assertStatus(consul.HealthPassing)
	require.NoError(t, c.Checks.Warn(ctx, checkID, "slow"))
	assertStatus(consul.HealthWarning)
	require.NoError(t, c.Checks.Fail(ctx, checkID, "down"))
	assertStatus(consul.HealthCritical)
	require.NoError(t, c.Checks.Pass(ctx, checkID, "ok"))
	assertStatus(consul.HealthPassing)

	// Maintenance adds a critical check; the local health says maintenance.
	require.NoError(t, c.Services.EnableMaintenance(ctx, id, "migrating"))
	checks, _, err := c.Checks.List(ctx)
	require.NoError(t, err)
	maint := checks["_service_maintenance:"+id]
	require.NotNil(t, maint, "maintenance check present")
	require.Equal(t, consul.HealthCritical, maint.Status)
	require.Equal(t, "migrating", maint.Notes)
	status, _, _, err := c.Services.GetHealthByName(ctx, name)
	require.NoError(t, err)
	require.Equal(t, consul.HealthMaintenance, status)
	h, _, err := c.Services.GetHealthByID(ctx, id)
	require.NoError(t, err)
	require.Equal(t, consul.HealthMaintenance, h.AggregatedStatus)

	require.NoError(t, c.Services.DisableMaintenance(ctx, id))
	assertStatus(consul.HealthPassing)
	checks, _, err = c.Checks.List(ctx)
	require.NoError(t, err)
	require.NotContains(t, checks, "_service_maintenance:"+id)
}

func TestServicesIntegrationCRUD(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	name := uniq(t, "redis")
	id := name + "-1"
	reg := &consul.AgentServiceRegistration{
		ID: id, Name: name, Tags: []string{"master", "v1"}, Port: 6379, Address: "127.0.0.1",
		TaggedAddresses: map[string]consul.ServiceAddress{"wan": {Address: "127.0.0.2", Port: 16379}},
		Meta:            map[string]string{"env": "test"}, Weights: &consul.Weights{Passing: 5, Warning: 2},
		Locality: &consul.Locality{Region: "us-east-1", Zone: "us-east-1a"},
		Checks: []*consul.AgentCheckRegistration{
			{ID: id + "-a", TTL: time.Minute, Status: consul.HealthPassing},
			{ID: id + "-b", Name: "alias", AliasService: id},
		},
	}
	require.NoError(t, c.Services.Register(ctx, reg))
	t.Cleanup(func() { _ = c.Services.Deregister(ctx, id) })

	list, _, err := c.Services.List(ctx, consul.Filter(`Service == "`+name+`"`))
	require.NoError(t, err)
	require.Len(t, list, 1)
	got := list[id]
	require.Equal(t, name, got.Service)
	require.Equal(t, []string{"master", "v1"}, got.Tags)
	require.Equal(t, &consul.Weights{Passing: 5, Warning: 2}, got.Weights)
	require.Equal(t, consul.ServiceAddress{Address: "127.0.0.2", Port: 16379}, got.TaggedAddresses["wan"])
	require.Equal(t, &consul.Locality{Region: "us-east-1", Zone: "us-east-1a"}, got.Locality)

	svc, meta, err := c.Services.Get(ctx, id)
	require.NoError(t, err)
	require.Equal(t, 6379, svc.Port)
	require.NotEmpty(t, meta.ContentHash)

	checks, _, err := c.Checks.List(ctx, consul.Filter(`ServiceID == "`+id+`"`))
	require.NoError(t, err)
	require.Len(t, checks, 2)
	require.Equal(t, consul.HealthPassing, checks[id+"-a"].Status, "initial status")
	require.Equal(t, "alias", checks[id+"-b"].Type)

	// Hash-based blocking: Get waits until the service changes.
	type result struct {
		svc  *consul.NodeService
		meta *consul.Meta
		err  error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		s, m, err := c.Services.Get(ctx, id, consul.WaitHash(meta.ContentHash), consul.WaitTime(20*time.Second))
		done <- result{s, m, err}
	}()
	time.Sleep(300 * time.Millisecond)
	reg.Tags = []string{"replica"}
	reg.Checks = reg.Checks[:1]
	require.NoError(t, c.Services.Register(ctx, reg, consul.ServicesReplaceChecks()))
	r := <-done
	require.NoError(t, r.err)
	require.Less(t, time.Since(start), 15*time.Second, "the blocking read returned on the change")
	require.Equal(t, []string{"replica"}, r.svc.Tags)
	require.NotEqual(t, meta.ContentHash, r.meta.ContentHash)

	checks, _, err = c.Checks.List(ctx, consul.Filter(`ServiceID == "`+id+`"`))
	require.NoError(t, err)
	require.Len(t, checks, 1, "replace-existing-checks removed the unlisted check")

	require.NoError(t, c.Services.Deregister(ctx, id))
	svc, _, err = c.Services.Get(ctx, id)
	require.NoError(t, err)
	require.Nil(t, svc, "a missing service is nil")
	h, _, err := c.Services.GetHealthByID(ctx, id)
	require.NoError(t, err)
	require.Nil(t, h)
	status, hl, _, err := c.Services.GetHealthByName(ctx, name)
	require.NoError(t, err)
	require.Equal(t, consul.HealthStatus(""), status)
	require.Empty(t, hl)
	require.ErrorIs(t, c.Services.Deregister(ctx, id), consul.ErrNotFound)
	require.ErrorIs(t, c.Services.EnableMaintenance(ctx, id, ""), consul.ErrNotFound)
}

func TestServicesIntegrationConnect(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	name := uniq(t, "web")
	require.NoError(t, c.Services.Register(ctx, &consul.AgentServiceRegistration{
		Name: name, Port: 8080,
		Connect: &consul.AgentServiceConnect{SidecarService: &consul.AgentServiceRegistration{}},
	}))
	t.Cleanup(func() {
		_ = c.Services.Deregister(ctx, name)
		_ = c.Services.Deregister(ctx, name+"-sidecar-proxy")
	})
	proxy, _, err := c.Services.Get(ctx, name+"-sidecar-proxy")
	require.NoError(t, err)
	require.NotNil(t, proxy, "the sidecar was registered")
	require.Equal(t, consul.ServiceKindConnectProxy, proxy.Kind)
	require.Equal(t, name, proxy.Proxy.DestinationServiceName)
	require.Equal(t, 8080, proxy.Proxy.LocalServicePort)
}

// A service with a TTL check that the program keeps passing.
func ExampleServicesService_Register() {
	client, err := consul.NewClient(consul.Config{})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	err = client.Services.Register(ctx, &consul.AgentServiceRegistration{
		ID:   "redis1",
		Name: "redis",
		Tags: []string{"master", "v1"},
		Port: 6379,
		Check: &consul.AgentCheckRegistration{
			ID:  "redis1-ttl",
			TTL: 15 * time.Second,
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	// Report health before the TTL runs out.
	if err := client.Checks.Pass(ctx, "redis1-ttl", "serving"); err != nil {
		log.Fatal(err)
	}
	status, _, _, err := client.Services.GetHealthByName(ctx, "redis")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("redis is", status)
}
