package consul_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// configTestName is a unique lower-case name for entries of one test.
func configTestName(t *testing.T, s string) string {
	return strings.ToLower(uniq(t, s))
}

// configTestArg asserts err is an *ArgumentError naming arg.
func configTestArg(t *testing.T, err error, arg string) {
	t.Helper()
	var ae *consul.ArgumentError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, arg, ae.Arg)
}

// Answers recorded from a Consul 1.19.2 dev agent.
const (
	configTestResolverJSON = `{"ConnectTimeout":"7s","RequestTimeout":"3s","Kind":"service-resolver","Name":"web",` +
		`"Subsets":{"v2":{"Filter":"Service.Meta.version == v2","OnlyPassing":true}},` +
		`"LoadBalancer":{"Policy":"ring_hash","HashPolicies":[{"Field":"cookie","FieldValue":"x","CookieConfig":{"TTL":10000000000}}]},` +
		`"Hash":17030198486066955139,"CreateIndex":15,"ModifyIndex":16}`
	configTestDefaultsJSON = `{"Kind":"service-defaults","Name":"web","Protocol":"http","TransparentProxy":{},"MeshGateway":{"Mode":"local"},` +
		`"Expose":{},"Meta":{"team":"a"},"Hash":4570506531397265768,"CreateIndex":14,"ModifyIndex":14}`
	// bound-api-gateway is written by Consul itself; it has no typed struct.
	configTestBoundGatewayJSON = `{"Kind":"bound-api-gateway","Name":"gw","Listeners":[{"Name":"l1","Routes":null,"Certificates":null},` +
		`{"Name":"l2","Routes":null,"Certificates":null}],"Services":{},"Hash":8980060252253708886,"CreateIndex":20,"ModifyIndex":20}`
)

func TestConfigEntriesApplyWire(t *testing.T) {
	w, c := newWire(t, reply{Body: "true"})
	err := c.ConfigEntries.Put(testCtx(t), &consul.ServiceDefaultsConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Name: "web", Meta: map[string]string{"team": "a"}},
		Protocol:          "http",
	}, consul.Token("tok"), consul.Datacenter("dc2"))
	require.NoError(t, err)
	r := w.only(t)
	r.expect(t, "PUT", "/v1/config", q("dc", "dc2"))
	assert.Equal(t, "tok", r.Header.Get("X-Consul-Token"))
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.JSONEq(t, `{"Kind":"service-defaults","Name":"web","Protocol":"http","Meta":{"team":"a"},
		"TransparentProxy":{},"MeshGateway":{},"Expose":{}}`, r.Body)

	// A resolver's durations go in Consul's "7s" form.
	w, c = newWire(t, reply{Body: "true"})
	require.NoError(t, c.ConfigEntries.Put(testCtx(t), &consul.ServiceResolverConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Name: "web"},
		ConnectTimeout:    7 * time.Second, RequestTimeout: 1500 * time.Millisecond,
		Subsets: map[string]consul.ServiceResolverSubset{"v2": {Filter: "Service.Meta.version == v2"}},
		LoadBalancer: &consul.ServiceResolverLoadBalancer{Policy: "ring_hash", HashPolicies: []consul.ServiceResolverHashPolicy{
			{Field: "cookie", FieldValue: "x", CookieConfig: &consul.ServiceResolverCookieConfig{TTL: 10 * time.Second}},
		}},
	}))
	assert.JSONEq(t, `{"Kind":"service-resolver","Name":"web","ConnectTimeout":"7s","RequestTimeout":"1.5s",
		"Subsets":{"v2":{"Filter":"Service.Meta.version == v2"}},
		"LoadBalancer":{"Policy":"ring_hash","HashPolicies":[{"Field":"cookie","FieldValue":"x","CookieConfig":{"TTL":"10s"}}]}}`, w.only(t).Body)

	// A router's destination timeouts too; the mesh entry has no Name.
	w, c = newWire(t, reply{Body: "true"})
	require.NoError(t, c.ConfigEntries.Put(testCtx(t), &consul.ServiceRouterConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Name: "web"},
		Routes: []consul.ServiceRouterRoute{{
			Match:       &consul.ServiceRouterMatch{HTTP: &consul.ServiceRouterHTTPMatch{PathPrefix: "/v2"}},
			Destination: &consul.ServiceRouterDestination{ServiceSubset: "v2", RequestTimeout: 2 * time.Second, NumRetries: 3},
		}},
	}))
	assert.JSONEq(t, `{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathPrefix":"/v2"}},
		"Destination":{"ServiceSubset":"v2","RequestTimeout":"2s","NumRetries":3}}]}`, w.only(t).Body)

	w, c = newWire(t, reply{Body: "true"})
	require.NoError(t, c.ConfigEntries.Put(testCtx(t), &consul.MeshConfigEntry{
		TransparentProxy: consul.MeshConfigTransparentProxy{MeshDestinationsOnly: true},
	}))
	assert.JSONEq(t, `{"Kind":"mesh","TransparentProxy":{"MeshDestinationsOnly":true}}`, w.only(t).Body)

	// A raw entry sends its fields with Kind and Name over them.
	w, c = newWire(t, reply{Body: "true"})
	require.NoError(t, c.ConfigEntries.Put(testCtx(t), &consul.RawConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Kind: consul.ConfigKindAPIGateway, Name: "gw"},
		Fields:            map[string]any{"Kind": "stale", "Listeners": []any{map[string]any{"Name": "l1", "Port": 9090, "Protocol": "http"}}},
	}))
	assert.JSONEq(t, `{"Kind":"api-gateway","Name":"gw","Listeners":[{"Name":"l1","Port":9090,"Protocol":"http"}]}`, w.only(t).Body)

	// Consul answering false is an error for a plain Apply.
	_, c = newWire(t, reply{Body: "false"})
	err = c.ConfigEntries.Put(testCtx(t), &consul.ServiceDefaultsConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: "web"}})
	require.ErrorContains(t, err, "not applied")

	_, c = newWire(t, reply{Status: 400, Body: `Request decoding failed: invalid config key "Namespace"`})
	err = c.ConfigEntries.Put(testCtx(t), &consul.ServiceDefaultsConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: "web", Namespace: "ns"}})
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 400, se.StatusCode)
}

func TestConfigEntriesApplyCASWire(t *testing.T) {
	for _, answer := range []bool{true, false} {
		w, c := newWire(t, reply{Body: map[bool]string{true: "true", false: "false"}[answer]})
		ok, err := c.ConfigEntries.PutCAS(testCtx(t), &consul.ServiceDefaultsConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: "web", ModifyIndex: 3}, Protocol: "grpc"}, 14)
		require.NoError(t, err)
		assert.Equal(t, answer, ok)
		r := w.only(t)
		r.expect(t, "PUT", "/v1/config", q("cas", "14"))
		assert.JSONEq(t, `{"Kind":"service-defaults","Name":"web","Protocol":"grpc","ModifyIndex":3,
			"TransparentProxy":{},"MeshGateway":{},"Expose":{}}`, r.Body)
	}
	// Index 0: create only.
	w, c := newWire(t, reply{Body: "true"})
	_, err := c.ConfigEntries.PutCAS(testCtx(t), &consul.ExportedServicesConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: "default"}}, 0)
	require.NoError(t, err)
	w.only(t).expect(t, "PUT", "/v1/config", q("cas", "0"))
	assert.JSONEq(t, `{"Kind":"exported-services","Name":"default"}`, w.only(t).Body)
}

func TestConfigEntriesGetWire(t *testing.T) {
	w, c := newWire(t, reply{Header: map[string]string{"X-Consul-Index": "16"}, Body: configTestResolverJSON})
	entry, meta, err := c.ConfigEntries.Get(testCtx(t), consul.ConfigKindServiceResolver, "web", consul.WaitIndex(15), consul.Stale())
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/config/service-resolver/web", q("index", "15", "stale", ""))
	assert.EqualValues(t, 16, meta.Index)
	res, ok := entry.(*consul.ServiceResolverConfigEntry)
	require.True(t, ok, "%T", entry)
	assert.Equal(t, "web", res.Name)
	assert.Equal(t, 7*time.Second, res.ConnectTimeout)
	assert.Equal(t, 3*time.Second, res.RequestTimeout)
	assert.Equal(t, consul.ServiceResolverSubset{Filter: "Service.Meta.version == v2", OnlyPassing: true}, res.Subsets["v2"])
	require.NotNil(t, res.LoadBalancer)
	assert.Equal(t, 10*time.Second, res.LoadBalancer.HashPolicies[0].CookieConfig.TTL, "nanoseconds read")
	assert.EqualValues(t, 15, res.CreateIndex)
	assert.EqualValues(t, 16, res.Header().ModifyIndex)
	assert.Equal(t, consul.ConfigKindServiceResolver, res.Header().Kind)

	// Names are escaped as one path segment.
	w, c = newWire(t, reply{Body: configTestDefaultsJSON})
	entry, _, err = c.ConfigEntries.Get(testCtx(t), consul.ConfigKindServiceDefaults, "a b#c?")
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/config/service-defaults/a%20b%23c%3F", nil)
	sd := entry.(*consul.ServiceDefaultsConfigEntry)
	assert.Equal(t, "http", sd.Protocol)
	assert.Equal(t, "local", sd.MeshGateway.Mode)
	assert.Equal(t, map[string]string{"team": "a"}, sd.Header().Meta)

	// A kind without a typed struct keeps all its JSON.
	_, c = newWire(t, reply{Body: configTestBoundGatewayJSON})
	entry, _, err = c.ConfigEntries.Get(testCtx(t), consul.ConfigKindBoundAPIGateway, "gw")
	require.NoError(t, err)
	raw, ok := entry.(*consul.RawConfigEntry)
	require.True(t, ok, "%T", entry)
	assert.Equal(t, "bound-api-gateway", raw.Kind)
	assert.Equal(t, "gw", raw.Name)
	assert.EqualValues(t, 20, raw.ModifyIndex)
	assert.Equal(t, json.Number("8980060252253708886"), raw.Fields["Hash"], "numbers kept exactly")
	listeners := raw.Fields["Listeners"].([]any)
	assert.Equal(t, "l2", listeners[1].(map[string]any)["Name"])

	// Missing: nil entry, filled meta, nil error.
	w, c = newWire(t, reply{Status: 404, Header: map[string]string{"X-Consul-Index": "22"}, Body: `Config entry not found for "service-defaults" / "nope"`})
	entry, meta, err = c.ConfigEntries.Get(testCtx(t), consul.ConfigKindServiceDefaults, "nope")
	require.NoError(t, err)
	assert.Nil(t, entry)
	assert.EqualValues(t, 22, meta.Index)
	w.only(t)

	// Other errors stay errors.
	_, c = newWire(t, reply{Status: 500, Body: "invalid config entry kind: nokind"})
	_, _, err = c.ConfigEntries.Get(testCtx(t), "nokind", "x")
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 500, se.StatusCode)
}

func TestConfigEntriesListWire(t *testing.T) {
	w, c := newWire(t, reply{Header: map[string]string{"X-Consul-Index": "30"},
		Body: "[" + configTestDefaultsJSON + `,{"Kind":"service-defaults","Name":"api","Protocol":"grpc","CreateIndex":2,"ModifyIndex":2}]`})
	list, meta, err := c.ConfigEntries.List(testCtx(t), consul.ConfigKindServiceDefaults, consul.Filter(`Protocol == "http"`))
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/config/service-defaults", q("filter", `Protocol == "http"`))
	assert.EqualValues(t, 30, meta.Index)
	require.Len(t, list, 2)
	assert.Equal(t, "web", list[0].Header().Name)
	assert.Equal(t, "grpc", list[1].(*consul.ServiceDefaultsConfigEntry).Protocol)

	_, c = newWire(t, reply{Body: "[" + configTestBoundGatewayJSON + "]"})
	list, _, err = c.ConfigEntries.List(testCtx(t), consul.ConfigKindBoundAPIGateway)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.IsType(t, &consul.RawConfigEntry{}, list[0])

	for _, body := range []string{"[]", "null"} {
		_, c = newWire(t, reply{Body: body})
		list, _, err = c.ConfigEntries.List(testCtx(t), consul.ConfigKindServiceRouter)
		require.NoError(t, err)
		assert.NotNil(t, list)
		assert.Empty(t, list)
	}
}

func TestConfigEntriesDeleteWire(t *testing.T) {
	w, c := newWire(t, reply{Body: "{}"})
	require.NoError(t, c.ConfigEntries.Delete(testCtx(t), consul.ConfigKindServiceResolver, "web", consul.Token("tok")))
	r := w.only(t)
	r.expect(t, "DELETE", "/v1/config/service-resolver/web", nil)
	assert.Equal(t, "tok", r.Header.Get("X-Consul-Token"))
	assert.Empty(t, r.Body)

	for _, answer := range []bool{true, false} {
		w, c = newWire(t, reply{Body: map[bool]string{true: "true", false: "false"}[answer]})
		ok, err := c.ConfigEntries.DeleteCAS(testCtx(t), consul.ConfigKindServiceDefaults, "a b", 17)
		require.NoError(t, err)
		assert.Equal(t, answer, ok)
		w.only(t).expect(t, "DELETE", "/v1/config/service-defaults/a%20b", q("cas", "17"))
	}

	_, c = newWire(t, reply{Status: 403, Body: "Permission denied"})
	err := c.ConfigEntries.Delete(testCtx(t), consul.ConfigKindServiceDefaults, "web")
	require.ErrorIs(t, err, consul.ErrPermissionDenied)
}

func TestConfigEntriesBadInput(t *testing.T) {
	w, c := newWire(t, reply{Body: "true"})
	ctx := testCtx(t)
	s := c.ConfigEntries

	configTestArg(t, s.Put(ctx, nil), "entry")
	configTestArg(t, s.Put(ctx, (*consul.ServiceDefaultsConfigEntry)(nil)), "entry")
	configTestArg(t, s.Put(ctx, &consul.ServiceDefaultsConfigEntry{}), "ServiceDefaultsConfigEntry.Name")
	configTestArg(t, s.Put(ctx, &consul.RawConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: "x"}}), "RawConfigEntry.Kind")
	configTestArg(t, s.Put(ctx, &consul.RawConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Kind: "http-route"}}), "RawConfigEntry.Name")
	configTestArg(t, s.Put(ctx, &consul.ServiceResolverConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: "x"}, ConnectTimeout: -time.Second}),
		"ServiceResolverConfigEntry.ConnectTimeout")
	configTestArg(t, s.Put(ctx, &consul.ServiceResolverConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: "x"}, RequestTimeout: -time.Second}),
		"ServiceResolverConfigEntry.RequestTimeout")
	configTestArg(t, s.Put(ctx, &consul.ServiceRouterConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Name: "x"}, Routes: []consul.ServiceRouterRoute{
			{}, {Destination: &consul.ServiceRouterDestination{IdleTimeout: -1}}}}),
		"ServiceRouterConfigEntry.Routes[1].Destination.IdleTimeout")
	configTestArg(t, s.Put(ctx, &consul.ServiceDefaultsConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: "x"}, MeshGateway: consul.ConfigMeshGateway{Mode: "nearby"}}),
		"ServiceDefaultsConfigEntry.MeshGateway.Mode")
	_, err := s.PutCAS(ctx, &consul.ProxyConfigEntry{}, 1)
	configTestArg(t, err, "ProxyConfigEntry.Name")
	// A typed struct writes its own kind: another kind in its header is a
	// mistake, refused; its own kind is fine.
	configTestArg(t, s.Put(ctx, &consul.ServiceDefaultsConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{
		Kind: consul.ConfigKindProxyDefaults, Name: "x"}}), "ServiceDefaultsConfigEntry.Kind")
	configTestArg(t, s.Put(ctx, &configTestOwnEntry{}), "consul_test.configTestOwnEntry.Kind")

	_, _, err = s.Get(ctx, "", "x")
	configTestArg(t, err, "kind")
	_, _, err = s.Get(ctx, "service-defaults", "")
	configTestArg(t, err, "name")
	_, _, err = s.Get(ctx, "service-defaults/x", "y")
	configTestArg(t, err, "kind")
	_, _, err = s.List(ctx, "")
	configTestArg(t, err, "kind")
	configTestArg(t, s.Delete(ctx, "service-defaults", ""), "name")
	configTestArg(t, s.Delete(ctx, "", "x"), "kind")
	_, err = s.DeleteCAS(ctx, "service-defaults", "", 3)
	configTestArg(t, err, "name")

	_, _, err = s.GetDiscoveryChain(ctx, "", nil)
	configTestArg(t, err, "service")
	_, _, err = s.GetDiscoveryChain(ctx, "web", &consul.DiscoveryChainOptions{OverrideConnectTimeout: -time.Second})
	configTestArg(t, err, "DiscoveryChainOptions.OverrideConnectTimeout")
	_, _, err = s.GetDiscoveryChain(ctx, "web", &consul.DiscoveryChainOptions{OverrideMeshGateway: consul.ConfigMeshGateway{Mode: "x"}})
	configTestArg(t, err, "DiscoveryChainOptions.OverrideMeshGateway.Mode")
	_, _, err = s.ListExportedServices(ctx, consul.WaitTime(-time.Second))
	configTestArg(t, err, "wait")

	w.noRequest(t)
}

func TestConfigEntriesDecode(t *testing.T) {
	for kind, want := range map[string]consul.ConfigEntry{
		consul.ConfigKindServiceDefaults:          &consul.ServiceDefaultsConfigEntry{},
		consul.ConfigKindProxyDefaults:            &consul.ProxyConfigEntry{},
		consul.ConfigKindServiceRouter:            &consul.ServiceRouterConfigEntry{},
		consul.ConfigKindServiceSplitter:          &consul.ServiceSplitterConfigEntry{},
		consul.ConfigKindServiceResolver:          &consul.ServiceResolverConfigEntry{},
		consul.ConfigKindIngressGateway:           &consul.IngressGatewayConfigEntry{},
		consul.ConfigKindTerminatingGateway:       &consul.TerminatingGatewayConfigEntry{},
		consul.ConfigKindServiceIntentions:        &consul.ServiceIntentionsConfigEntry{},
		consul.ConfigKindMesh:                     &consul.MeshConfigEntry{},
		consul.ConfigKindExportedServices:         &consul.ExportedServicesConfigEntry{},
		consul.ConfigKindSamenessGroup:            &consul.SamenessGroupConfigEntry{},
		consul.ConfigKindAPIGateway:               &consul.APIGatewayConfigEntry{},
		consul.ConfigKindHTTPRoute:                &consul.HTTPRouteConfigEntry{},
		consul.ConfigKindTCPRoute:                 &consul.TCPRouteConfigEntry{},
		consul.ConfigKindInlineCertificate:        &consul.InlineCertificateConfigEntry{},
		consul.ConfigKindFileSystemCertificate:    &consul.FileSystemCertificateConfigEntry{},
		consul.ConfigKindJWTProvider:              &consul.JWTProviderConfigEntry{},
		consul.ConfigKindControlPlaneRequestLimit: &consul.ControlPlaneRequestLimitConfigEntry{},
		consul.ConfigKindBoundAPIGateway:          &consul.RawConfigEntry{},
		"some-future-kind":                        &consul.RawConfigEntry{},
	} {
		entry, err := consul.DecodeConfigEntry([]byte(`{"Kind":"` + kind + `","Name":"n"}`))
		require.NoError(t, err, kind)
		assert.IsType(t, want, entry, kind)
		assert.Equal(t, kind, entry.Header().Kind)
		if kind != consul.ConfigKindMesh {
			assert.Equal(t, "n", entry.Header().Name, kind)
		} else {
			assert.Equal(t, consul.MeshConfigName, entry.Header().Name, "a mesh entry is always named mesh")
		}
		// Every entry writes its kind, so that what was read can be applied.
		b, err := json.Marshal(entry)
		require.NoError(t, err)
		again, err := consul.DecodeConfigEntry(b)
		require.NoError(t, err, "%s", b)
		assert.Equal(t, entry, again, kind)

		// A typed struct sends the kind it was decoded from, and refuses
		// to send another.
		w, c := newWire(t, reply{Body: "true"})
		require.NoError(t, c.ConfigEntries.Put(testCtx(t), entry), kind)
		var sent struct{ Kind string }
		require.NoError(t, json.Unmarshal([]byte(w.only(t).Body), &sent))
		assert.Equal(t, kind, sent.Kind)
		if _, raw := entry.(*consul.RawConfigEntry); !raw {
			entry.Header().Kind = "some-other-kind"
			var ae *consul.ArgumentError
			require.ErrorAs(t, c.ConfigEntries.Put(testCtx(t), entry), &ae, kind)
			assert.True(t, strings.HasSuffix(ae.Arg, "ConfigEntry.Kind"), ae.Arg)
		}
	}
	// Consul's mesh entry has no Name field: it is never sent.
	meshJSON, err := json.Marshal(&consul.MeshConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: consul.MeshConfigName}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"Kind":"mesh","TransparentProxy":{"MeshDestinationsOnly":false}}`, string(meshJSON))

	// The lower-case kind of config files is read too.
	entry, err := consul.DecodeConfigEntry([]byte(`{"kind":"service-splitter","Name":"web","Splits":[{"Weight":90},{"Weight":10,"ServiceSubset":"v2"}]}`))
	require.NoError(t, err)
	sp := entry.(*consul.ServiceSplitterConfigEntry)
	assert.Equal(t, []consul.ServiceSplitterSplit{{Weight: 90}, {Weight: 10, ServiceSubset: "v2"}}, sp.Splits)

	_, err = consul.DecodeConfigEntry([]byte(`{"Name":"web"}`))
	require.ErrorContains(t, err, "no Kind")
	_, err = consul.DecodeConfigEntry([]byte(`[`))
	require.Error(t, err)
	_, err = consul.DecodeConfigEntry([]byte(`{"Kind":"service-resolver","ConnectTimeout":"soon"}`))
	require.ErrorContains(t, err, "soon")

	// A passive health check's durations both ways.
	hc := consul.ConfigPassiveHealthCheck{Interval: 10 * time.Second, MaxFailures: 3}
	bet := 30 * time.Second
	hc.BaseEjectionTime = &bet
	b, err := json.Marshal(hc)
	require.NoError(t, err)
	assert.JSONEq(t, `{"Interval":"10s","MaxFailures":3,"BaseEjectionTime":"30s"}`, string(b))
	var back consul.ConfigPassiveHealthCheck
	require.NoError(t, json.Unmarshal([]byte(`{"Interval":10000000000,"MaxFailures":3,"BaseEjectionTime":30000000000}`), &back))
	assert.Equal(t, hc, back)
}

// --- integration ---

func TestConfigEntriesIntegration(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	s := c.ConfigEntries
	name := configTestName(t, "web")
	t.Cleanup(func() {
		for _, kind := range []string{consul.ConfigKindServiceRouter, consul.ConfigKindServiceResolver, consul.ConfigKindServiceDefaults} {
			_ = s.Delete(ctx, kind, name)
		}
	})

	// Nothing yet: nil, with an index to block on.
	entry, meta, err := s.Get(ctx, consul.ConfigKindServiceDefaults, name)
	require.NoError(t, err)
	assert.Nil(t, entry)
	require.NotZero(t, meta.Index)

	require.NoError(t, s.Put(ctx, &consul.ServiceDefaultsConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Name: name, Meta: map[string]string{"owner": "config-test"}},
		Protocol:          "http",
	}))
	require.NoError(t, s.Put(ctx, &consul.ServiceResolverConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Name: name},
		ConnectTimeout:    7 * time.Second, RequestTimeout: 3 * time.Second,
		Subsets: map[string]consul.ServiceResolverSubset{"v2": {Filter: "Service.Meta.version == v2"}},
	}))

	entry, meta, err = s.Get(ctx, consul.ConfigKindServiceDefaults, name)
	require.NoError(t, err)
	sd, ok := entry.(*consul.ServiceDefaultsConfigEntry)
	require.True(t, ok, "%T", entry)
	assert.Equal(t, name, sd.Name)
	assert.Equal(t, "http", sd.Protocol)
	assert.Equal(t, map[string]string{"owner": "config-test"}, sd.Meta)
	assert.NotZero(t, sd.ModifyIndex)
	assert.GreaterOrEqual(t, meta.Index, sd.ModifyIndex)

	entry, _, err = s.Get(ctx, consul.ConfigKindServiceResolver, name)
	require.NoError(t, err)
	res, ok := entry.(*consul.ServiceResolverConfigEntry)
	require.True(t, ok, "%T", entry)
	assert.Equal(t, 7*time.Second, res.ConnectTimeout)
	assert.Equal(t, 3*time.Second, res.RequestTimeout)
	assert.Equal(t, "Service.Meta.version == v2", res.Subsets["v2"].Filter)

	list, _, err := s.List(ctx, consul.ConfigKindServiceDefaults)
	require.NoError(t, err)
	var found *consul.ServiceDefaultsConfigEntry
	for _, e := range list {
		assert.Equal(t, consul.ConfigKindServiceDefaults, e.Header().Kind)
		if e.Header().Name == name {
			found = e.(*consul.ServiceDefaultsConfigEntry)
		}
	}
	require.NotNil(t, found, "listed")
	assert.Equal(t, "http", found.Protocol)

	// CAS: a stale index loses, the current one wins.
	stale := sd.ModifyIndex
	sd.Protocol = "http2"
	ok, err = s.PutCAS(ctx, sd, stale-1)
	require.NoError(t, err)
	assert.False(t, ok, "stale index")
	ok, err = s.PutCAS(ctx, sd, stale)
	require.NoError(t, err)
	assert.True(t, ok, "current index")
	entry, _, err = s.Get(ctx, consul.ConfigKindServiceDefaults, name)
	require.NoError(t, err)
	sd = entry.(*consul.ServiceDefaultsConfigEntry)
	assert.Equal(t, "http2", sd.Protocol)
	assert.Greater(t, sd.ModifyIndex, stale)
	// Index 0 creates only.
	ok, err = s.PutCAS(ctx, &consul.ServiceDefaultsConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: name}, Protocol: "grpc"}, 0)
	require.NoError(t, err)
	assert.False(t, ok, "exists already")

	ok, err = s.DeleteCAS(ctx, consul.ConfigKindServiceDefaults, name, stale)
	require.NoError(t, err)
	assert.False(t, ok, "stale index")
	entry, _, err = s.Get(ctx, consul.ConfigKindServiceDefaults, name)
	require.NoError(t, err)
	require.NotNil(t, entry, "still there")
	ok, err = s.DeleteCAS(ctx, consul.ConfigKindServiceDefaults, name, sd.ModifyIndex)
	require.NoError(t, err)
	assert.True(t, ok, "current index")
	entry, _, err = s.Get(ctx, consul.ConfigKindServiceDefaults, name)
	require.NoError(t, err)
	assert.Nil(t, entry, "deleted")

	require.NoError(t, s.Delete(ctx, consul.ConfigKindServiceResolver, name))
	entry, _, err = s.Get(ctx, consul.ConfigKindServiceResolver, name)
	require.NoError(t, err)
	assert.Nil(t, entry)
	// Deleting what is gone is fine.
	require.NoError(t, s.Delete(ctx, consul.ConfigKindServiceResolver, name))

	// An unknown kind is Consul's error.
	_, _, err = s.List(ctx, "no-such-kind")
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
}

func TestConfigEntriesBlockingGetIntegration(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	name := configTestName(t, "svc")
	t.Cleanup(func() { _ = c.ConfigEntries.Delete(ctx, consul.ConfigKindServiceDefaults, name) })

	entry, meta, err := c.ConfigEntries.Get(ctx, consul.ConfigKindServiceDefaults, name)
	require.NoError(t, err)
	require.Nil(t, entry)

	go func() {
		time.Sleep(300 * time.Millisecond)
		_ = c.ConfigEntries.Put(ctx, &consul.ServiceDefaultsConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: name}, Protocol: "grpc"})
	}()
	start := time.Now()
	entry, _, err = c.ConfigEntries.Get(ctx, consul.ConfigKindServiceDefaults, name,
		consul.WaitIndex(meta.Index), consul.WaitTime(20*time.Second))
	require.NoError(t, err)
	require.NotNil(t, entry, "the blocking read wakes up with the new entry")
	assert.Equal(t, "grpc", entry.(*consul.ServiceDefaultsConfigEntry).Protocol)
	assert.Less(t, time.Since(start), 15*time.Second)
}

// TestConfigEntriesRawIntegration: a RawConfigEntry writes any kind, and
// what is read back is the kind's typed struct, which writes back through
// CAS; the kind Consul writes itself (bound-api-gateway) reads raw.
func TestConfigEntriesRawIntegration(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	s := c.ConfigEntries
	gw := configTestName(t, "gw")
	jwt := configTestName(t, "jwt")
	t.Cleanup(func() {
		_ = s.Delete(ctx, consul.ConfigKindJWTProvider, jwt)
		_ = s.Delete(ctx, consul.ConfigKindAPIGateway, gw)
	})

	require.NoError(t, s.Put(ctx, &consul.RawConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Kind: consul.ConfigKindAPIGateway, Name: gw}, Fields: map[string]any{
			"Listeners": []any{map[string]any{"Name": "l1", "Port": 9090, "Protocol": "http"}},
		}}))
	entry, meta, err := s.Get(ctx, consul.ConfigKindAPIGateway, gw)
	require.NoError(t, err)
	apigw, ok := entry.(*consul.APIGatewayConfigEntry)
	require.True(t, ok, "%T", entry)
	require.Len(t, apigw.Listeners, 1)
	assert.Equal(t, consul.APIGatewayListener{Name: "l1", Port: 9090, Protocol: "http"}, apigw.Listeners[0])

	// Consul writes the gateway's bound-api-gateway in the background.
	var bound consul.ConfigEntry
	for deadline := time.Now().Add(20 * time.Second); bound == nil && time.Now().Before(deadline); {
		bound, meta, err = s.Get(ctx, consul.ConfigKindBoundAPIGateway, gw, consul.WaitIndex(meta.Index), consul.WaitTime(2*time.Second))
		require.NoError(t, err)
	}
	require.NotNil(t, bound, "bound-api-gateway written by Consul")
	raw, ok := bound.(*consul.RawConfigEntry)
	require.True(t, ok, "%T", bound)
	assert.Equal(t, gw, raw.Name)
	listeners, _ := raw.Fields["Listeners"].([]any)
	require.Len(t, listeners, 1)
	assert.Equal(t, "l1", listeners[0].(map[string]any)["Name"])

	// A jwt-provider written raw reads typed, and writes back through CAS.
	require.NoError(t, s.Put(ctx, &consul.RawConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Kind: consul.ConfigKindJWTProvider, Name: jwt}, Fields: map[string]any{
			"Issuer":        "test-issuer",
			"JSONWebKeySet": map[string]any{"Remote": map[string]any{"URI": "https://127.0.0.1:1/jwks.json", "FetchAsynchronously": true}},
		}}))
	entry, _, err = s.Get(ctx, consul.ConfigKindJWTProvider, jwt)
	require.NoError(t, err)
	jp, ok := entry.(*consul.JWTProviderConfigEntry)
	require.True(t, ok, "%T", entry)
	assert.Equal(t, "test-issuer", jp.Issuer)
	assert.True(t, jp.JSONWebKeySet.Remote.FetchAsynchronously)
	jp.Meta = map[string]string{"v": "2"}
	ok, err = s.PutCAS(ctx, jp, jp.ModifyIndex-1)
	require.NoError(t, err)
	assert.False(t, ok, "stale index")
	ok, err = s.PutCAS(ctx, jp, jp.ModifyIndex)
	require.NoError(t, err)
	assert.True(t, ok, "current index")
	entry, _, err = s.Get(ctx, consul.ConfigKindJWTProvider, jwt)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"v": "2"}, entry.Header().Meta)
	assert.Equal(t, "test-issuer", entry.(*consul.JWTProviderConfigEntry).Issuer)
}

func TestConfigEntriesACLIntegration(t *testing.T) {
	srv := testACLAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	name := configTestName(t, "web")

	err := c.ConfigEntries.Put(ctx, &consul.ServiceDefaultsConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: name}, Protocol: "http"})
	require.True(t, errors.Is(err, consul.ErrPermissionDenied), "%v", err)

	mgmt := consul.Token(srv.ManagementToken)
	require.NoError(t, c.ConfigEntries.Put(ctx, &consul.ServiceDefaultsConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: name}, Protocol: "http"}, mgmt))
	t.Cleanup(func() { _ = c.ConfigEntries.Delete(ctx, consul.ConfigKindServiceDefaults, name, mgmt) })

	// Default deny: the entry is invisible without a token.
	_, _, err = c.ConfigEntries.Get(ctx, consul.ConfigKindServiceDefaults, name)
	require.ErrorIs(t, err, consul.ErrPermissionDenied)
	entry, _, err := c.ConfigEntries.Get(ctx, consul.ConfigKindServiceDefaults, name, mgmt)
	require.NoError(t, err)
	require.NotNil(t, entry)
	require.ErrorIs(t, c.ConfigEntries.Delete(ctx, consul.ConfigKindServiceDefaults, name), consul.ErrPermissionDenied)
}

// TestConfigEntriesRoundTripIntegration applies richly filled entries of the
// typed kinds and reads them back equal: every field name this package sends
// is one Consul knows (Consul CE refuses unknown keys).
func TestConfigEntriesRoundTripIntegration(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	s := c.ConfigEntries
	web := configTestName(t, "web")
	api := configTestName(t, "api")
	ing := configTestName(t, "ingress")
	term := configTestName(t, "term")
	one, two := 1, 2
	pct := uint32(50)
	eject := 20 * time.Second

	entries := []consul.ConfigEntry{
		&consul.ServiceDefaultsConfigEntry{
			ConfigEntryHeader: consul.ConfigEntryHeader{Name: web, Meta: map[string]string{"k": "v"}},
			Protocol:          "http", Mode: "transparent", MutualTLSMode: "strict",
			TransparentProxy: consul.ConfigTransparentProxy{OutboundListenerPort: 15001, DialedDirectly: true},
			MeshGateway:      consul.ConfigMeshGateway{Mode: "local"},
			Expose: consul.ConfigExpose{Checks: true, Paths: []consul.ConfigExposePath{
				{ListenerPort: 21500, Path: "/metrics", LocalPathPort: 9102, Protocol: "http"},
			}},
			UpstreamConfig: &consul.ConfigUpstreams{
				Defaults: &consul.ConfigUpstream{
					ConnectTimeoutMs: 2000,
					Limits:           &consul.ConfigUpstreamLimits{MaxConnections: &one, MaxPendingRequests: &two},
					PassiveHealthCheck: &consul.ConfigPassiveHealthCheck{
						Interval: 10 * time.Second, MaxFailures: 3, MaxEjectionPercent: &pct, BaseEjectionTime: &eject,
					},
				},
				Overrides: []*consul.ConfigUpstream{{Name: api, Protocol: "grpc", MeshGateway: consul.ConfigMeshGateway{Mode: "remote"}}},
			},
			MaxInboundConnections: 100, LocalConnectTimeoutMs: 500, LocalRequestTimeoutMs: 1500,
			BalanceInboundConnections: "exact_balance",
		},
		&consul.ServiceDefaultsConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: api}, Protocol: "http"},
		&consul.ServiceResolverConfigEntry{
			ConfigEntryHeader: consul.ConfigEntryHeader{Name: web},
			DefaultSubset:     "v1", ConnectTimeout: 4 * time.Second, RequestTimeout: 9 * time.Second,
			Subsets: map[string]consul.ServiceResolverSubset{
				"v1": {Filter: "Service.Meta.version == v1", OnlyPassing: true},
				"v2": {Filter: "Service.Meta.version == v2"},
			},
			Failover: map[string]consul.ServiceResolverFailover{"v1": {ServiceSubset: "v2"}},
			LoadBalancer: &consul.ServiceResolverLoadBalancer{Policy: "ring_hash",
				RingHashConfig: &consul.ServiceResolverRingHash{MinimumRingSize: 1024, MaximumRingSize: 8192},
				HashPolicies: []consul.ServiceResolverHashPolicy{
					{Field: "cookie", FieldValue: "sid", CookieConfig: &consul.ServiceResolverCookieConfig{TTL: 30 * time.Second, Path: "/"}},
					{SourceIP: true, Terminal: true},
				}},
		},
		&consul.ServiceSplitterConfigEntry{
			ConfigEntryHeader: consul.ConfigEntryHeader{Name: web}, Splits: []consul.ServiceSplitterSplit{
				{Weight: 90, ServiceSubset: "v1", RequestHeaders: &consul.ConfigHTTPHeaderModifiers{Set: map[string]string{"x-v": "1"}}},
				{Weight: 10, ServiceSubset: "v2", ResponseHeaders: &consul.ConfigHTTPHeaderModifiers{Remove: []string{"x-debug"}}},
			}},
		&consul.ServiceRouterConfigEntry{
			ConfigEntryHeader: consul.ConfigEntryHeader{Name: web}, Routes: []consul.ServiceRouterRoute{{
				Match: &consul.ServiceRouterMatch{HTTP: &consul.ServiceRouterHTTPMatch{
					PathPrefix: "/api", CaseInsensitive: true, Methods: []string{"GET", "POST"},
					Header:     []consul.ServiceRouterHeaderMatch{{Name: "x-debug", Present: true}, {Name: "x-env", Exact: "prod", Invert: true}},
					QueryParam: []consul.ServiceRouterQueryParamMatch{{Name: "beta", Exact: "1"}},
				}},
				Destination: &consul.ServiceRouterDestination{
					Service: api, PrefixRewrite: "/", RequestTimeout: 5 * time.Second, IdleTimeout: 30 * time.Second,
					NumRetries: 2, RetryOnConnectFailure: true, RetryOn: []string{"reset"}, RetryOnStatusCodes: []uint32{503},
					RequestHeaders: &consul.ConfigHTTPHeaderModifiers{Add: map[string]string{"x-routed": "yes"}},
				},
			}}},
		&consul.ServiceIntentionsConfigEntry{
			ConfigEntryHeader: consul.ConfigEntryHeader{Name: api}, Sources: []*consul.ServiceIntentionsSource{
				{Name: web, Type: "consul", Precedence: 9, Permissions: []*consul.ServiceIntentionsPermission{
					{Action: "allow", HTTP: &consul.ServiceIntentionsHTTPPermission{PathPrefix: "/v1", Methods: []string{"GET"},
						Header: []consul.ServiceIntentionsHeaderPermission{{Name: "x-team", Exact: "a"}}}},
					{Action: "deny", HTTP: &consul.ServiceIntentionsHTTPPermission{PathExact: "/admin"}},
				}},
			}},
		&consul.IngressGatewayConfigEntry{
			ConfigEntryHeader: consul.ConfigEntryHeader{Name: ing}, Defaults: &consul.IngressGatewayDefaults{MaxConnections: 10, MaxPendingRequests: 20, MaxConcurrentRequests: 30},
			Listeners: []consul.IngressGatewayListener{
				{Port: 8080, Protocol: "http", Services: []consul.IngressGatewayService{{
					Name: web, Hosts: []string{"web.example.com"}, MaxConnections: 5,
					RequestHeaders: &consul.ConfigHTTPHeaderModifiers{Set: map[string]string{"x-gw": "1"}},
				}}},
				{Port: 9090, Protocol: "tcp", Services: []consul.IngressGatewayService{{Name: term + "-tcp"}}},
			},
		},
		&consul.TerminatingGatewayConfigEntry{
			ConfigEntryHeader: consul.ConfigEntryHeader{Name: term}, Services: []consul.TerminatingGatewayService{
				{Name: "legacy-db", CAFile: "/etc/ca.pem", SNI: "db.internal"},
				{Name: "billing", DisableAutoHostRewrite: true},
			}},
		&consul.MeshConfigEntry{
			AllowEnablingPermissiveMutualTLS: true,
			TLS: &consul.MeshConfigTLS{Incoming: &consul.MeshConfigDirectionalTLS{TLSMinVersion: "TLSv1_2"},
				Outgoing: &consul.MeshConfigDirectionalTLS{TLSMinVersion: "TLSv1_2", CipherSuites: []string{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}}},
			HTTP:    &consul.MeshConfigHTTP{SanitizeXForwardedClientCert: true},
			Peering: &consul.MeshConfigPeering{PeerThroughMeshGateways: true},
		},
	}
	t.Cleanup(func() {
		for i := len(entries) - 1; i >= 0; i-- {
			kind, name := configTestKey(t, entries[i])
			_ = s.Delete(ctx, kind, name)
		}
	})
	for _, want := range entries {
		kind, name := configTestKey(t, want)
		require.NoError(t, s.Put(ctx, want), "%s %s", kind, name)
		got, _, err := s.Get(ctx, kind, name)
		require.NoError(t, err)
		require.NotNil(t, got)
		require.IsType(t, want, got)
		assert.NotZero(t, got.Header().CreateIndex)
		// Compare without the indexes Consul sets.
		wantJSON, err := json.Marshal(want)
		require.NoError(t, err)
		gotJSON, err := json.Marshal(got)
		require.NoError(t, err)
		var gotMap map[string]any
		require.NoError(t, json.Unmarshal(gotJSON, &gotMap))
		delete(gotMap, "CreateIndex")
		delete(gotMap, "ModifyIndex")
		gotJSON, err = json.Marshal(gotMap)
		require.NoError(t, err)
		assert.JSONEq(t, string(wantJSON), string(gotJSON), "%s %s", kind, name)
	}
}

// configTestKey is the kind and name of an entry as Consul sees them: a
// typed struct writes its kind whatever its header's Kind says, and a mesh
// entry is named mesh.
func configTestKey(t *testing.T, e consul.ConfigEntry) (kind, name string) {
	t.Helper()
	b, err := json.Marshal(e)
	require.NoError(t, err)
	read, err := consul.DecodeConfigEntry(b)
	require.NoError(t, err)
	return read.Header().Kind, read.Header().Name
}

func ExampleConfigEntriesService_Put() {
	client, _ := consul.NewClient(consul.Config{})
	ctx := context.Background()

	err := client.ConfigEntries.Put(ctx, &consul.ServiceDefaultsConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: "web"}, Protocol: "http"})
	if err != nil {
		log.Fatal(err)
	}
	err = client.ConfigEntries.Put(ctx, &consul.ServiceResolverConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Name: "web"},
		ConnectTimeout:    3 * time.Second,
		Subsets: map[string]consul.ServiceResolverSubset{
			"v2": {Filter: "Service.Meta.version == v2"},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
}

func ExampleConfigEntriesService_Get() {
	client, _ := consul.NewClient(consul.Config{})
	ctx := context.Background()

	entry, meta, err := client.ConfigEntries.Get(ctx, consul.ConfigKindServiceDefaults, "web")
	if err != nil {
		log.Fatal(err)
	}
	switch e := entry.(type) {
	case nil:
		fmt.Println("no service-defaults for web yet; block on index", meta.Index)
	case *consul.ServiceDefaultsConfigEntry:
		fmt.Println("web speaks", e.Protocol)
	}
}

func ExampleConfigEntriesService_PutCAS() {
	client, _ := consul.NewClient(consul.Config{})
	ctx := context.Background()

	// Read, change, write back only if nobody wrote in between.
	entry, _, err := client.ConfigEntries.Get(ctx, consul.ConfigKindServiceDefaults, "web")
	if err != nil || entry == nil {
		log.Fatal("no entry: ", err)
	}
	sd := entry.(*consul.ServiceDefaultsConfigEntry)
	sd.Protocol = "grpc"
	ok, err := client.ConfigEntries.PutCAS(ctx, sd, sd.ModifyIndex)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("written:", ok)
}

// configTestOwnEntry is a ConfigEntry of another package: its kind is its
// header's.
type configTestOwnEntry struct {
	consul.ConfigEntryHeader
	Extra string `json:",omitempty"`
}

// TestConfigEntryHeader: every entry type embeds the header, which
// implements ConfigEntry once and keeps the JSON Consul knows.
func TestConfigEntryHeader(t *testing.T) {
	w, c := newWire(t, reply{Body: "true"})
	ctx := testCtx(t)

	sd := &consul.ServiceDefaultsConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Name: "web", Partition: "p", Namespace: "ns", Meta: map[string]string{"k": "v"}},
		Protocol:          "http",
	}
	var entry consul.ConfigEntry = sd
	require.Same(t, &sd.ConfigEntryHeader, entry.Header(), "Header is the embedded header itself")
	entry.Header().ModifyIndex = 7
	assert.EqualValues(t, 7, sd.ModifyIndex, "the header's fields are the entry's")

	require.NoError(t, c.ConfigEntries.Put(ctx, sd))
	s := w.only(t)
	s.expect(t, "PUT", "/v1/config", nil)
	assert.JSONEq(t, `{"Kind":"service-defaults","Name":"web","Partition":"p","Namespace":"ns","Meta":{"k":"v"},
		"ModifyIndex":7,"Protocol":"http","TransparentProxy":{},"MeshGateway":{},"Expose":{}}`, s.Body)

	// Its own kind in the header is allowed and changes nothing.
	sd.Kind = consul.ConfigKindServiceDefaults
	sd.ModifyIndex = 0
	w.reset(reply{Body: "true"})
	ok, err := c.ConfigEntries.PutCAS(ctx, sd, 0)
	require.NoError(t, err)
	assert.True(t, ok)
	s = w.only(t)
	s.expect(t, "PUT", "/v1/config", q("cas", "0"))
	assert.JSONEq(t, `{"Kind":"service-defaults","Name":"web","Partition":"p","Namespace":"ns","Meta":{"k":"v"},
		"Protocol":"http","TransparentProxy":{},"MeshGateway":{},"Expose":{}}`, s.Body)

	// A type of another package implements ConfigEntry by embedding the
	// header, and writes the header's kind.
	own := &configTestOwnEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Kind: "http-route", Name: "r"}, Extra: "x"}
	w.reset(reply{Body: "true"})
	require.NoError(t, c.ConfigEntries.Put(ctx, own))
	assert.JSONEq(t, `{"Kind":"http-route","Name":"r","Extra":"x"}`, w.only(t).Body)

	// Read back: the header holds what Consul sent, Kind included.
	got, err := consul.DecodeConfigEntry([]byte(`{"Kind":"service-defaults","Name":"web","Namespace":"ns","Partition":"p",
		"Meta":{"k":"v"},"Protocol":"http","CreateIndex":3,"ModifyIndex":9}`))
	require.NoError(t, err)
	assert.Equal(t, &consul.ServiceDefaultsConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Kind: consul.ConfigKindServiceDefaults, Name: "web", Partition: "p",
			Namespace: "ns", Meta: map[string]string{"k": "v"}, CreateIndex: 3, ModifyIndex: 9},
		Protocol: "http",
	}, got)
}

// --- helpers of the round-trip tests of the typed kinds ---

// configTestAllSet fails the test unless every field of every struct type
// reachable from the values is non-zero somewhere in them, so that a round
// trip covers every field the package sends, including fields added later.
// except lists the fields Consul refuses or sets itself, as "Type.Field";
// the types reachable only through them are not checked.
func configTestAllSet(t *testing.T, except []string, values ...any) {
	t.Helper()
	skip := map[string]bool{}
	for _, e := range except {
		skip[e] = true
	}
	set := map[string]bool{}
	types := map[reflect.Type]bool{}
	var walkType func(reflect.Type)
	walkType = func(typ reflect.Type) {
		switch typ.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
			walkType(typ.Elem())
		case reflect.Struct:
			if types[typ] || typ.PkgPath() != reflect.TypeOf(consul.ConfigEntryHeader{}).PkgPath() {
				return
			}
			types[typ] = true
			for i := 0; i < typ.NumField(); i++ {
				if !skip[typ.Name()+"."+typ.Field(i).Name] {
					walkType(typ.Field(i).Type)
				}
			}
		}
	}
	var walk func(reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Slice, reflect.Array:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		case reflect.Map:
			for it := v.MapRange(); it.Next(); {
				walk(it.Value())
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if !v.Field(i).IsZero() {
					set[v.Type().Name()+"."+v.Type().Field(i).Name] = true
				}
				walk(v.Field(i))
			}
		}
	}
	for _, v := range values {
		walkType(reflect.TypeOf(v))
		walk(reflect.ValueOf(v))
	}
	var unset []string
	for typ := range types {
		for i := 0; i < typ.NumField(); i++ {
			name := typ.Name() + "." + typ.Field(i).Name
			if !set[name] && !skip[name] {
				unset = append(unset, name)
			}
		}
	}
	sort.Strings(unset)
	assert.Empty(t, unset, "fields the round trip leaves zero")
}

// configTestHeaderExcept are the header's fields a round trip leaves zero
// on Consul CE: Kind (a typed struct writes its own), the Enterprise
// placement, and the Raft indexes Consul sets.
var configTestHeaderExcept = []string{
	"ConfigEntryHeader.Kind", "ConfigEntryHeader.Partition", "ConfigEntryHeader.Namespace",
	"ConfigEntryHeader.CreateIndex", "ConfigEntryHeader.ModifyIndex",
}

// configTestPut writes entry. When newer is not nil and the agent refuses
// the entry because it is older than a field of it (Consul answers 400
// "invalid config key" naming the field's path), it asserts exactly that,
// calls newer to drop the field from the entry, and writes it again; it
// reports whether the agent took the entry as it was.
func configTestPut(t *testing.T, s *consul.ConfigEntriesService, entry consul.ConfigEntry, fieldPath string, newer func()) bool {
	t.Helper()
	ctx := testCtx(t)
	err := s.Put(ctx, entry)
	if err == nil || newer == nil {
		require.NoError(t, err)
		return true
	}
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 400, se.StatusCode)
	assert.Contains(t, se.Body, `invalid config key "`+fieldPath+`"`)
	t.Logf("this agent refuses %s (a field of newer Consul versions): %s", fieldPath, se.Body)
	newer()
	require.NoError(t, s.Put(ctx, entry))
	return false
}

// configTestGet reads an entry back and clears what Consul sets on it (the
// Raft indexes), after checking they are set.
func configTestGet(t *testing.T, s *consul.ConfigEntriesService, kind, name string) consul.ConfigEntry {
	t.Helper()
	got, _, err := s.Get(testCtx(t), kind, name)
	require.NoError(t, err)
	require.NotNil(t, got, "%s %s", kind, name)
	h := got.Header()
	assert.NotZero(t, h.CreateIndex)
	assert.GreaterOrEqual(t, h.ModifyIndex, h.CreateIndex)
	h.CreateIndex, h.ModifyIndex = 0, 0
	return got
}

// configTestStatus waits (by blocking reads, at most 30s) until Consul's
// controller has reported a condition of type cond on the entry, and
// returns the entry's status then.
func configTestStatus(t *testing.T, s *consul.ConfigEntriesService, kind, name, cond string) *consul.ConfigEntryStatus {
	t.Helper()
	ctx := testCtx(t)
	var index uint64
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		entry, meta, err := s.Get(ctx, kind, name, consul.WaitIndex(index), consul.WaitTime(2*time.Second))
		require.NoError(t, err)
		index = meta.Index
		var st *consul.ConfigEntryStatus
		switch e := entry.(type) {
		case *consul.APIGatewayConfigEntry:
			st = e.Status
		case *consul.HTTPRouteConfigEntry:
			st = e.Status
		case *consul.TCPRouteConfigEntry:
			st = e.Status
		default:
			t.Fatalf("%s %s: %T has no status", kind, name, entry)
		}
		if st != nil {
			for _, c := range st.Conditions {
				if c.Type == cond {
					return st
				}
			}
		}
	}
	t.Fatalf("%s %s: no %s condition after 30s", kind, name, cond)
	return nil
}

// configTestCondition returns the condition of st of type cond about the
// resource of that kind, name and section ("" for the entry itself).
func configTestCondition(t *testing.T, st *consul.ConfigEntryStatus, cond, kind, name, section string) consul.ConfigEntryCondition {
	t.Helper()
	for _, c := range st.Conditions {
		r := consul.ConfigResourceReference{}
		if c.Resource != nil {
			r = *c.Resource
		}
		if c.Type == cond && r.Kind == kind && r.Name == name && r.SectionName == section {
			return c
		}
	}
	t.Fatalf("no %s condition about %s %s %s in %+v", cond, kind, name, section, st.Conditions)
	return consul.ConfigEntryCondition{}
}
