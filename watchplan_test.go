package consul_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The plans of Consul's documentation (website/content/docs/
// dynamic-app-config/watches.mdx, Consul 1.19), and of api/watch's tests
// for the three types the page does not show.
const (
	docPlanKeyScript = `{
      "type": "key",
      "key": "foo/bar/baz",
      "handler_type": "script",
      "args": ["/usr/bin/my-service-handler.sh", "-redis"]
    }`
	docPlanKeyHTTP = `{
      "type": "key",
      "key": "foo/bar/baz",
      "handler_type": "http",
      "http_handler_config": {
        "path": "https://localhost:8000/watch",
        "method": "POST",
        "header": { "x-foo": ["bar", "baz"] },
        "timeout": "10s",
        "tls_skip_verify": false
      }
    }`
	docPlanKey = `{
  "type": "key",
  "key": "foo/bar/baz",
  "args": ["/usr/bin/my-service-handler.sh", "-redis"]
}`
	docPlanKeyPrefix = `{
  "type": "keyprefix",
  "prefix": "foo/",
  "args": ["/usr/bin/my-prefix-handler.sh", "-redis"]
}`
	docPlanServices = `{
  "type": "services",
  "args": ["/usr/bin/my-services-handler.sh"]
}`
	docPlanNodes = `{
  "type": "nodes",
  "args": ["/usr/bin/my-nodes-handler.sh"]
}`
	docPlanService = `{
  "type": "service",
  "service": "redis",
  "args": ["/usr/bin/my-service-handler.sh", "-redis"],
  "tag": "bar"
}`
	docPlanServiceTags = `{
  "type": "service",
  "service": "redis",
  "args": ["/usr/bin/my-service-handler.sh", "-redis"],
  "tag": ["bar", "foo"]
}`
	docPlanChecksState = `{
  "type": "checks",
  "state": "passing",
  "args": ["/usr/bin/my-check-handler.sh", "-passing"]
}`
	docPlanChecksService = `{
  "type": "checks",
  "service": "redis",
  "args": ["/usr/bin/my-check-handler.sh", "-redis"]
}`
	docPlanEvent = `{
  "type": "event",
  "name": "web-deploy",
  "args": ["/usr/bin/my-event-handler.sh", "-web-deploy"]
}`
	// api/watch's funcs_test.go.
	apiPlanServicePassing = `{"type":"service", "service":"foo", "tag":"bar", "passingonly":true}`
	apiPlanConnectRoots   = `{"type":"connect_roots"}`
	apiPlanConnectLeaf    = `{"type":"connect_leaf", "service":"web"}`
	apiPlanAgentService   = `{"type":"agent_service", "service_id":"web"}`
)

func TestParseWatchPlanEveryType(t *testing.T) {
	script := func(args ...string) *consul.WatchPlanHandler { return &consul.WatchPlanHandler{Args: args} }
	for _, tc := range []struct {
		json string
		want consul.WatchPlan
	}{
		{docPlanKeyScript, consul.WatchPlan{Type: consul.WatchTypeKey, Key: "foo/bar/baz",
			Handler: &consul.WatchPlanHandler{Type: "script", Args: []string{"/usr/bin/my-service-handler.sh", "-redis"}}}},
		{docPlanKeyHTTP, consul.WatchPlan{Type: consul.WatchTypeKey, Key: "foo/bar/baz",
			Handler: &consul.WatchPlanHandler{Type: "http", HTTP: &consul.WatchPlanHTTPHandler{Path: "https://localhost:8000/watch",
				Method: "POST", Header: map[string][]string{"x-foo": {"bar", "baz"}}, Timeout: 10 * time.Second}}}},
		{docPlanKey, consul.WatchPlan{Type: consul.WatchTypeKey, Key: "foo/bar/baz", Handler: script("/usr/bin/my-service-handler.sh", "-redis")}},
		{docPlanKeyPrefix, consul.WatchPlan{Type: consul.WatchTypeKeyPrefix, Prefix: "foo/", Handler: script("/usr/bin/my-prefix-handler.sh", "-redis")}},
		{docPlanServices, consul.WatchPlan{Type: consul.WatchTypeServices, Handler: script("/usr/bin/my-services-handler.sh")}},
		{docPlanNodes, consul.WatchPlan{Type: consul.WatchTypeNodes, Handler: script("/usr/bin/my-nodes-handler.sh")}},
		{docPlanService, consul.WatchPlan{Type: consul.WatchTypeService, Service: "redis", Tags: []string{"bar"},
			Handler: script("/usr/bin/my-service-handler.sh", "-redis")}},
		{docPlanServiceTags, consul.WatchPlan{Type: consul.WatchTypeService, Service: "redis", Tags: []string{"bar", "foo"},
			Handler: script("/usr/bin/my-service-handler.sh", "-redis")}},
		{docPlanChecksState, consul.WatchPlan{Type: consul.WatchTypeChecks, State: consul.HealthPassing,
			Handler: script("/usr/bin/my-check-handler.sh", "-passing")}},
		{docPlanChecksService, consul.WatchPlan{Type: consul.WatchTypeChecks, Service: "redis", Handler: script("/usr/bin/my-check-handler.sh", "-redis")}},
		{docPlanEvent, consul.WatchPlan{Type: consul.WatchTypeEvent, Name: "web-deploy", Handler: script("/usr/bin/my-event-handler.sh", "-web-deploy")}},
		{apiPlanServicePassing, consul.WatchPlan{Type: consul.WatchTypeService, Service: "foo", Tags: []string{"bar"}, PassingOnly: true}},
		{apiPlanConnectRoots, consul.WatchPlan{Type: consul.WatchTypeConnectRoots}},
		{apiPlanConnectLeaf, consul.WatchPlan{Type: consul.WatchTypeConnectLeaf, Service: "web"}},
		{apiPlanAgentService, consul.WatchPlan{Type: consul.WatchTypeAgentService, ServiceID: "web"}},
		// The generic parameters, and the ones of `consul watch` (-stale,
		// -filter, -datacenter, -token, the deprecated handler).
		{`{"type":"nodes","datacenter":"dc2","token":"t0k","stale":true,"filter":"Meta.rack == r1","handler":"cat >> /tmp/x"}`,
			consul.WatchPlan{Type: consul.WatchTypeNodes, Datacenter: "dc2", Token: "t0k", Stale: true, Filter: "Meta.rack == r1",
				Handler: &consul.WatchPlanHandler{Shell: "cat >> /tmp/x"}}},
		{`{"type":"checks","service":"web","filter":"Status == critical","stale":false}`,
			consul.WatchPlan{Type: consul.WatchTypeChecks, Service: "web", Filter: "Status == critical"}},
		{`{"type":"keyprefix","prefix":"app/","args":"/bin/reload"}`,
			consul.WatchPlan{Type: consul.WatchTypeKeyPrefix, Prefix: "app/", Handler: script("/bin/reload")}},
		{`{"type":"key","key":"k","handler_type":"http","http_handler_config":{"path":"http://127.0.0.1:1/h"}}`,
			consul.WatchPlan{Type: consul.WatchTypeKey, Key: "k", Handler: &consul.WatchPlanHandler{Type: "http",
				HTTP: &consul.WatchPlanHTTPHandler{Path: "http://127.0.0.1:1/h", Method: "POST", Timeout: 10 * time.Second}}}},
	} {
		got, err := consul.ParseWatchPlan([]byte(tc.json))
		require.NoError(t, err, tc.json)
		assert.Equal(t, &tc.want, got, tc.json)
	}
}

func TestParseWatchPlanRefuses(t *testing.T) {
	for _, tc := range []struct {
		json, arg string
	}{
		{`{"key":"k"}`, `watch plan "type"`},
		{`{"type":"kv","key":"k"}`, `watch plan "type"`},
		{`{"type":7}`, `watch plan "type"`},
		// Unknown keys, and keys of other types.
		{`{"type":"key","key":"k","keys":"x"}`, `watch plan "keys"`},
		{`{"type":"key","Key":"k"}`, `watch plan "Key"`},
		{`{"type":"key","key":"k","tag":"x"}`, `watch plan "tag"`},
		{`{"type":"event","stale":true}`, `watch plan "stale"`},
		{`{"type":"event","datacenter":"dc2"}`, `watch plan "datacenter"`},
		{`{"type":"agent_service","service_id":"web","datacenter":"dc2"}`, `watch plan "datacenter"`},
		{`{"type":"connect_roots","stale":true}`, `watch plan "stale"`},
		{`{"type":"key","key":"k","filter":"x"}`, `watch plan "filter"`},
		{`{"type":"services","node_meta":{"rack":"r1"}}`, `watch plan "node_meta"`},
		{`{"type":"service","service":"s","service_id":"x"}`, `watch plan "service_id"`},
		// Wrong types.
		{`{"type":"key","key":1}`, `watch plan "key"`},
		{`{"type":"key","key":null}`, `watch plan "key"`},
		{`{"type":"key","key":"k","stale":"true"}`, `watch plan "stale"`},
		{`{"type":"service","service":"s","passingonly":"true"}`, `watch plan "passingonly"`},
		{`{"type":"service","service":"s","tag":["a",2]}`, `watch plan "tag"`},
		{`{"type":"service","service":"s","tag":{"a":"b"}}`, `watch plan "tag"`},
		{`{"type":"key","key":"k","token":["t"]}`, `watch plan "token"`},
		{`{"type":"key","key":"k","args":[true]}`, `watch plan "args"`},
		{`{"type":"key","key":"k","handler":["sh"]}`, `watch plan "handler"`},
		{`{"type":"key","key":"k","handler_type":1}`, `watch plan "handler_type"`},
		// Missing or bad values.
		{`{"type":"key"}`, `watch plan "key"`},
		{`{"type":"key","key":"/abs"}`, `watch plan "key"`},
		{`{"type":"keyprefix"}`, `watch plan "prefix"`},
		{`{"type":"service"}`, `watch plan "service"`},
		{`{"type":"service","service":"a/b"}`, `watch plan "service"`},
		{`{"type":"connect_leaf"}`, `watch plan "service"`},
		{`{"type":"agent_service"}`, `watch plan "service_id"`},
		{`{"type":"checks","service":"s","state":"passing"}`, `watch plan "state"`},
		{`{"type":"checks","state":"maintenance"}`, `watch plan "state"`},
		{`{"type":"key","key":"k","token":"a\nb"}`, `watch plan "token"`},
		// The handler's rules.
		{`{"type":"key","key":"k","handler_type":"exec","args":["x"]}`, `watch plan "handler_type"`},
		{`{"type":"key","key":"k","handler_type":"script"}`, `watch plan "args"`},
		{`{"type":"key","key":"k","handler":"x","args":["y"]}`, `watch plan "handler_type"`},
		{`{"type":"key","key":"k","handler_type":"http","args":["y"],"http_handler_config":{"path":"p"}}`, `watch plan "handler_type"`},
		{`{"type":"key","key":"k","handler_type":"http"}`, `watch plan "http_handler_config"`},
		{`{"type":"key","key":"k","http_handler_config":{"path":"p"}}`, `watch plan "http_handler_config"`},
		{`{"type":"key","key":"k","handler_type":"http","http_handler_config":"p"}`, `watch plan "http_handler_config"`},
		{`{"type":"key","key":"k","handler_type":"http","http_handler_config":{"method":"PUT"}}`, `watch plan "http_handler_config.path"`},
		{`{"type":"key","key":"k","handler_type":"http","http_handler_config":{"path":"p","timeout":"soon"}}`, `watch plan "http_handler_config.timeout"`},
		{`{"type":"key","key":"k","handler_type":"http","http_handler_config":{"path":"p","timeout":10}}`, `watch plan "http_handler_config.timeout"`},
		{`{"type":"key","key":"k","handler_type":"http","http_handler_config":{"path":"p","header":{"x":"y"}}}`, `watch plan "http_handler_config.header.x"`},
		{`{"type":"key","key":"k","handler_type":"http","http_handler_config":{"path":"p","tls_skip_verify":"no"}}`, `watch plan "http_handler_config.tls_skip_verify"`},
		{`{"type":"key","key":"k","handler_type":"http","http_handler_config":{"path":"p","retries":3}}`, `watch plan "http_handler_config.retries"`},
		// Not a plan.
		{`["type","key"]`, `watch plan`},
		{`{"type":"key","key":"k"} {}`, `watch plan`},
	} {
		_, err := consul.ParseWatchPlan([]byte(tc.json))
		var ae *consul.ArgumentError
		require.ErrorAs(t, err, &ae, tc.json)
		assert.Equal(t, tc.arg, ae.Arg, "%s: %v", tc.json, err)
		assert.True(t, consul.IsPermanent(err))
	}
	// The token is never part of an error, whatever is wrong.
	_, err := consul.ParseWatchPlan([]byte(`{"type":"event","token":"s3cr3t-t0k3n","stale":"x"}`))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cr3t")
	_, err = consul.ParseWatchPlan([]byte(`{"type":"key","key":"k","token":"s3cr3t\u0000t0k3n"}`))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cr3t")
	// Broken JSON is an error too.
	_, err = consul.ParseWatchPlan([]byte(`{"type":`))
	require.Error(t, err)
}

// The agent's "watches" stanza: the plans of a configuration file.
func TestParseWatchPlans(t *testing.T) {
	plans, err := consul.ParseWatchPlans([]byte(`{"datacenter":"dc1","data_dir":"/tmp/c","watches":[` + docPlanKeyScript + `,` + docPlanEvent + `]}`))
	require.NoError(t, err)
	require.Len(t, plans, 2)
	assert.Equal(t, consul.WatchTypeKey, plans[0].Type)
	assert.Equal(t, "web-deploy", plans[1].Name)
	plans, err = consul.ParseWatchPlans([]byte(`[` + docPlanServices + `]`))
	require.NoError(t, err)
	assert.Equal(t, consul.WatchTypeServices, plans[0].Type)

	for _, tc := range []struct{ json, arg string }{
		{`{"watches":[` + docPlanNodes + `,{"type":"nodes","stale":1}]}`, `watch plan "watches[1] stale"`},
		{`{"watches":[1]}`, `watch plan watches[0]`},
		{`{"watches":{}}`, `watch plans`},
		{`{"data_dir":"/tmp"}`, `watch plans`},
		{`"x"`, `watch plans`},
	} {
		_, err := consul.ParseWatchPlans([]byte(tc.json))
		var ae *consul.ArgumentError
		require.ErrorAs(t, err, &ae, tc.json)
		assert.Equal(t, tc.arg, ae.Arg, "%s: %v", tc.json, err)
	}
}

// A plan's parameters become the read's options, exactly.
func TestWatchPlanWire(t *testing.T) {
	w, c := newWire(t, reply{Header: map[string]string{"X-Consul-Index": "7"}, Body: `[]`})
	plan, err := consul.ParseWatchPlan([]byte(`{"type":"service","service":"redis","tag":["bar","foo"],"passingonly":true,` +
		`"stale":true,"datacenter":"dc2","token":"s3cr3t","filter":"Service.Port > 80"}`))
	require.NoError(t, err)
	for u, err := range plan.Watch(testCtx(t), c, watchTestFast...) {
		require.NoError(t, err)
		assert.Equal(t, consul.WatchTypeService, u.Value.Type)
		assert.NotNil(t, u.Value.Instances)
		assert.Equal(t, uint64(7), u.Meta.Index)
		break
	}
	s := w.only(t)
	s.expect(t, "GET", "/v1/health/service/redis", q("dc", "dc2", "stale", "", "filter", "Service.Port > 80", "tag", "bar", "tag", "foo", "passing", ""))
	assert.Equal(t, "s3cr3t", s.Header.Get("X-Consul-Token"))

	for _, tc := range []struct {
		json, path string
		query      []string
	}{
		{`{"type":"key","key":"foo/bar baz","stale":true}`, "/v1/kv/foo/bar%20baz", []string{"stale", ""}},
		{`{"type":"keyprefix","prefix":"foo/"}`, "/v1/kv/foo/", []string{"recurse", ""}},
		{`{"type":"services","filter":"a in ServiceTags"}`, "/v1/catalog/services", []string{"filter", "a in ServiceTags"}},
		{`{"type":"nodes","datacenter":"dc3"}`, "/v1/catalog/nodes", []string{"dc", "dc3"}},
		{`{"type":"checks"}`, "/v1/health/state/any", nil},
		{`{"type":"checks","state":"critical"}`, "/v1/health/state/critical", nil},
		{`{"type":"checks","service":"web"}`, "/v1/health/checks/web", nil},
		{`{"type":"event","name":"deploy"}`, "/v1/event/list", []string{"name", "deploy"}},
		{`{"type":"connect_roots"}`, "/v1/agent/connect/ca/roots", nil},
		{`{"type":"connect_leaf","service":"web"}`, "/v1/agent/connect/ca/leaf/web", nil},
		{`{"type":"agent_service","service_id":"web-1"}`, "/v1/agent/service/web-1", nil},
	} {
		w.reset(reply{Header: map[string]string{"X-Consul-Index": "3"}, Body: `{}`})
		plan, err := consul.ParseWatchPlan([]byte(tc.json))
		require.NoError(t, err, tc.json)
		for range plan.Watch(testCtx(t), c, watchTestFast...) {
			break // the first answer, or its error: the request is what counts
		}
		reqs := w.requests()
		require.NotEmpty(t, reqs, tc.json)
		reqs[0].expect(t, "GET", tc.path, q(tc.query...))
	}
}

// A plan built in Go that cannot run yields one error naming the field,
// and sends nothing.
func TestWatchPlanBuiltInGoIsChecked(t *testing.T) {
	w, c := newWire(t, reply{Body: `[]`})
	for _, tc := range []struct {
		plan consul.WatchPlan
		arg  string
	}{
		{consul.WatchPlan{Type: consul.WatchTypeKey, Key: "k", Tags: []string{"x"}}, "WatchPlan.Tags"},
		{consul.WatchPlan{Type: consul.WatchTypeEvent, Stale: true}, "WatchPlan.Stale"},
		{consul.WatchPlan{Type: consul.WatchTypeService}, "WatchPlan.Service"},
		{consul.WatchPlan{Type: "kv"}, "WatchPlan.Type"},
		{consul.WatchPlan{Type: consul.WatchTypeChecks, State: "bad"}, "WatchPlan.State"},
		{consul.WatchPlan{Type: consul.WatchTypeAgentService, Datacenter: "dc2", ServiceID: "x"}, "WatchPlan.Datacenter"},
	} {
		n := 0
		for _, err := range tc.plan.Watch(testCtx(t), c) {
			n++
			var ae *consul.ArgumentError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tc.arg, ae.Arg)
		}
		assert.Equal(t, 1, n, "one error, then the loop ends")
	}
	w.noRequest(t)
}

// An event watch yields the events received since its previous answer, as
// Consul's own event watch hands them to its handler.
func TestWatchPlanEventsWire(t *testing.T) {
	ev := func(ids ...string) string {
		var parts []string
		for _, id := range ids {
			parts = append(parts, fmt.Sprintf(`{"ID":%q,"Name":"deploy","Version":1,"LTime":1}`, id))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	const (
		a = "00000000-0000-0000-0000-00000000000a"
		b = "00000000-0000-0000-0000-00000000000b"
		c = "00000000-0000-0000-0000-00000000000c"
	)
	idx := func(id string) string {
		i, err := consul.EventIDToIndex(id)
		require.NoError(t, err)
		return fmt.Sprint(i)
	}
	_, cl := newWire(t,
		reply{Header: map[string]string{"X-Consul-Index": idx(a)}, Body: ev(a)},
		reply{Header: map[string]string{"X-Consul-Index": idx(c)}, Body: ev(a, b, c)},
		reply{Header: map[string]string{"X-Consul-Index": idx(c)}, Body: ev(a, b, c)},
	)
	plan := &consul.WatchPlan{Type: consul.WatchTypeEvent, Name: "deploy"}
	var got [][]string
	for u, err := range plan.Watch(testCtx(t), cl, watchTestFast...) {
		require.NoError(t, err)
		var ids []string
		for _, e := range u.Value.Events {
			ids = append(ids, e.ID)
		}
		got = append(got, ids)
		if len(got) == 2 {
			break
		}
	}
	assert.Equal(t, [][]string{{a}, {b, c}}, got)
}

// planWatch runs plan.Watch in a goroutine until the test ends and hands
// out its answers.
type planWatch struct {
	t  *testing.T
	ch chan planAnswer
}

type planAnswer struct {
	u   consul.WatchUpdate[consul.WatchPlanValue]
	err error
}

func startPlanWatch(t *testing.T, c *consul.Client, plan *consul.WatchPlan) *planWatch {
	ctx, cancel := context.WithCancel(context.Background())
	pw := &planWatch{t: t, ch: make(chan planAnswer, 64)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for u, err := range plan.Watch(ctx, c, consul.WatchWait(5*time.Second), consul.WatchMinInterval(10*time.Millisecond),
			consul.WatchBackoff(50*time.Millisecond, 200*time.Millisecond)) {
			select {
			case pw.ch <- planAnswer{u, err}:
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return pw
}

// next waits for an answer for which ok is true, failing on an error or
// after 30s.
func (pw *planWatch) next(what string, ok func(v consul.WatchPlanValue) bool) consul.WatchUpdate[consul.WatchPlanValue] {
	pw.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case a := <-pw.ch:
			require.NoError(pw.t, a.err, what)
			if ok(a.u.Value) {
				return a.u
			}
		case <-deadline:
			pw.t.Fatalf("no answer with %s within 30s", what)
		}
	}
}

// docPlan parses a plan of the documentation, its names made unique to the
// test by the replacements old, new...
func docPlan(t *testing.T, doc string, oldnew ...string) *consul.WatchPlan {
	t.Helper()
	plan, err := consul.ParseWatchPlan([]byte(strings.NewReplacer(oldnew...).Replace(doc)))
	require.NoError(t, err)
	return plan
}

func TestWatchPlanKeyIntegration(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	p := uniq(t, "key")
	for _, doc := range []string{docPlanKey, docPlanKeyScript, docPlanKeyHTTP} {
		plan := docPlan(t, doc, `"foo/`, `"`+p+`/foo/`)
		require.NotNil(t, plan.Handler)
		w := startPlanWatch(t, c, plan)
		w.next("the absent key", func(v consul.WatchPlanValue) bool { return v.Type == consul.WatchTypeKey && v.KV == nil })
		require.NoError(t, c.KV.Put(ctx, p+"/foo/bar/baz", []byte("hey")))
		u := w.next("the key's value", func(v consul.WatchPlanValue) bool { return v.KV != nil })
		assert.Equal(t, "hey", string(u.Value.KV.Value))
		assert.Equal(t, u.Value.KV.ModifyIndex, u.Meta.Index)
		require.NoError(t, c.KV.Delete(ctx, p+"/foo/bar/baz"))
		w.next("the deleted key", func(v consul.WatchPlanValue) bool { return v.KV == nil })
	}
}

func TestWatchPlanKeyPrefixIntegration(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	p := uniq(t, "prefix")
	w := startPlanWatch(t, c, docPlan(t, docPlanKeyPrefix, `"foo/"`, `"`+p+`/foo/"`))
	w.next("no key", func(v consul.WatchPlanValue) bool { return v.KVPairs != nil && len(v.KVPairs) == 0 })
	require.NoError(t, c.KV.Put(ctx, p+"/foo/bar", []byte("MOAR")))
	require.NoError(t, c.KV.Put(ctx, p+"/foo/baz", []byte("asdf")))
	require.NoError(t, c.KV.Put(ctx, p+"/other", []byte("x")))
	u := w.next("both keys", func(v consul.WatchPlanValue) bool { return len(v.KVPairs) == 2 })
	assert.Equal(t, p+"/foo/bar", u.Value.KVPairs[0].Key)
	assert.Equal(t, "asdf", string(u.Value.KVPairs[1].Value))
}

// registerNode puts a catalog node with services in the catalog, in one
// transaction, and removes it when the test ends.
func registerNode(t *testing.T, c *consul.Client, node string, svcs ...*consul.NodeService) {
	t.Helper()
	txn := c.Txn.New().SetNode(&consul.Node{Node: node, Address: "10.3.4.5", Meta: map[string]string{"rack": "r1"}})
	for _, s := range svcs {
		txn.SetService(node, s)
	}
	_, _, err := txn.Execute(testCtx(t))
	require.NoError(t, err)
	t.Cleanup(func() { _, _, _ = c.Txn.New().DeleteNode(node).Execute(context.Background()) })
}

func TestWatchPlanServicesIntegration(t *testing.T) {
	c := newClient(t, testAgent(t))
	name := uniq(t, "svc")
	w := startPlanWatch(t, c, docPlan(t, docPlanServices))
	w.next("the consul service", func(v consul.WatchPlanValue) bool { _, ok := v.Services["consul"]; return ok })
	registerNode(t, c, name+"-node", &consul.NodeService{Service: name, Tags: []string{"a", "b"}})
	u := w.next("the new service", func(v consul.WatchPlanValue) bool { _, ok := v.Services[name]; return ok })
	assert.ElementsMatch(t, []string{"a", "b"}, u.Value.Services[name])
}

func TestWatchPlanNodesIntegration(t *testing.T) {
	c := newClient(t, testAgent(t))
	node := uniq(t, "node")
	w := startPlanWatch(t, c, docPlan(t, docPlanNodes))
	first := w.next("the agent's node", func(v consul.WatchPlanValue) bool { return len(v.Nodes) > 0 })
	registerNode(t, c, node)
	u := w.next("the new node", func(v consul.WatchPlanValue) bool {
		for _, n := range v.Nodes {
			if n.Node == node {
				return true
			}
		}
		return false
	})
	assert.Greater(t, u.Meta.Index, first.Meta.Index)

	// The same with a filter of `consul watch -filter`.
	raw, err := json.Marshal(map[string]any{"type": "nodes", "filter": fmt.Sprintf("Node == %q", node)})
	require.NoError(t, err)
	plan, err := consul.ParseWatchPlan(raw)
	require.NoError(t, err)
	w = startPlanWatch(t, c, plan)
	u = w.next("the node alone", func(v consul.WatchPlanValue) bool { return len(v.Nodes) == 1 })
	assert.Equal(t, "r1", u.Value.Nodes[0].Meta["rack"])
}

func TestWatchPlanServiceIntegration(t *testing.T) {
	c := newClient(t, testAgent(t))
	name := uniq(t, "redis")
	node := name + "-node"
	registerNode(t, c, node,
		&consul.NodeService{ID: "r-none", Service: name, Port: 1},
		&consul.NodeService{ID: "r-bar", Service: name, Tags: []string{"bar"}, Port: 2},
		&consul.NodeService{ID: "r-bar-foo", Service: name, Tags: []string{"bar", "foo"}, Port: 3})

	ids := func(v consul.WatchPlanValue) []string {
		var out []string
		for _, e := range v.Instances {
			out = append(out, e.Service.ID)
		}
		return out
	}
	w := startPlanWatch(t, c, docPlan(t, docPlanService, `"redis"`, `"`+name+`"`))
	u := w.next("the tagged instances", func(v consul.WatchPlanValue) bool { return v.Instances != nil })
	assert.ElementsMatch(t, []string{"r-bar", "r-bar-foo"}, ids(u.Value))
	w = startPlanWatch(t, c, docPlan(t, docPlanServiceTags, `"redis"`, `"`+name+`"`))
	u = w.next("the instance with both tags", func(v consul.WatchPlanValue) bool { return v.Instances != nil })
	assert.Equal(t, []string{"r-bar-foo"}, ids(u.Value))

	// passingonly: a critical check takes an instance out.
	w = startPlanWatch(t, c, docPlan(t, apiPlanServicePassing, `"foo"`, `"`+name+`"`))
	w.next("both tagged instances passing", func(v consul.WatchPlanValue) bool { return len(v.Instances) == 2 })
	_, _, err := c.Txn.New().SetCheck(&consul.HealthCheck{Node: node, CheckID: "r-bar:down", Name: "down",
		ServiceID: "r-bar", Status: consul.HealthCritical}).Execute(testCtx(t))
	require.NoError(t, err)
	u = w.next("one passing instance", func(v consul.WatchPlanValue) bool { return len(v.Instances) == 1 })
	assert.Equal(t, []string{"r-bar-foo"}, ids(u.Value))
}

func TestWatchPlanChecksIntegration(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	name := uniq(t, "redis")
	node := name + "-node"
	registerNode(t, c, node, &consul.NodeService{ID: name, Service: name, Port: 6379})

	byState := startPlanWatch(t, c, docPlan(t, docPlanChecksState))
	byService := startPlanWatch(t, c, docPlan(t, docPlanChecksService, `"redis"`, `"`+name+`"`))
	byService.next("no check yet", func(v consul.WatchPlanValue) bool { return v.Checks != nil && len(v.Checks) == 0 })
	has := func(id string, status consul.HealthStatus) func(v consul.WatchPlanValue) bool {
		return func(v consul.WatchPlanValue) bool {
			for _, ch := range v.Checks {
				if ch.Node == node && ch.CheckID == id && ch.Status == status {
					return true
				}
			}
			return false
		}
	}
	_, _, err := c.Txn.New().SetCheck(&consul.HealthCheck{Node: node, CheckID: "service:" + name, Name: "Service 'redis' check",
		ServiceID: name, Status: consul.HealthPassing}).Execute(ctx)
	require.NoError(t, err)
	u := byService.next("the service's check", has("service:"+name, consul.HealthPassing))
	assert.Equal(t, name, u.Value.Checks[0].ServiceName)
	byState.next("the passing check", has("service:"+name, consul.HealthPassing))

	_, _, err = c.Txn.New().SetCheck(&consul.HealthCheck{Node: node, CheckID: "service:" + name, Name: "Service 'redis' check",
		ServiceID: name, Status: consul.HealthCritical}).Execute(ctx)
	require.NoError(t, err)
	byService.next("the critical check", has("service:"+name, consul.HealthCritical))
	byState.next("the check gone from the passing ones", func(v consul.WatchPlanValue) bool {
		return v.Checks != nil && !has("service:"+name, consul.HealthPassing)(v)
	})
}

func TestWatchPlanEventIntegration(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	name := uniq(t, "web-deploy")
	w := startPlanWatch(t, c, docPlan(t, docPlanEvent, `"web-deploy"`, `"`+name+`"`))
	w.next("no event", func(v consul.WatchPlanValue) bool { return v.Type == consul.WatchTypeEvent && len(v.Events) == 0 })
	first, err := c.Event.Fire(ctx, name, []byte("1609030"))
	require.NoError(t, err)
	u := w.next("the event", func(v consul.WatchPlanValue) bool { return len(v.Events) > 0 })
	require.Len(t, u.Value.Events, 1)
	assert.Equal(t, first.ID, u.Value.Events[0].ID)
	assert.Equal(t, "1609030", string(u.Value.Events[0].Payload))
	_, err = c.Event.Fire(ctx, "other-"+name, nil)
	require.NoError(t, err)
	second, err := c.Event.Fire(ctx, name, []byte("2"))
	require.NoError(t, err)
	u = w.next("the new event only", func(v consul.WatchPlanValue) bool { return len(v.Events) > 0 })
	require.Len(t, u.Value.Events, 1, "the events of earlier answers are not handed again")
	assert.Equal(t, second.ID, u.Value.Events[0].ID)
}

func TestWatchPlanConnectIntegration(t *testing.T) {
	obs := &recordingObserver{}
	c := newClient(t, testAgent(t), consul.Config{Observer: obs})
	name := uniq(t, "web")
	w := startPlanWatch(t, c, docPlan(t, apiPlanConnectRoots))
	u := w.next("the roots", func(v consul.WatchPlanValue) bool { return v.CARoots != nil })
	require.NotNil(t, u.Value.CARoots.Active())
	assert.NotEmpty(t, u.Value.CARoots.Active().RootCert)

	w = startPlanWatch(t, c, docPlan(t, apiPlanConnectLeaf, `"web"`, `"`+name+`"`))
	u = w.next("the leaf", func(v consul.WatchPlanValue) bool { return v.LeafCert != nil })
	assert.Equal(t, name, u.Value.LeafCert.Service)
	assert.Contains(t, u.Value.LeafCert.CertPEM, "BEGIN CERTIFICATE")

	// Both go on blocking on the index of their answer.
	for _, route := range []string{"/v1/agent/connect/ca/roots", "/v1/agent/connect/ca/leaf/:service"} {
		require.Eventually(t, func() bool {
			for _, call := range obs.all() {
				if call.info.Route == route && call.info.Index > 0 {
					return true
				}
			}
			return false
		}, 10*time.Second, 20*time.Millisecond, "a blocking request of %s", route)
	}
}

func TestWatchPlanAgentServiceIntegration(t *testing.T) {
	obs := &recordingObserver{}
	c := newClient(t, testAgent(t), consul.Config{Observer: obs})
	ctx := testCtx(t)
	id := uniq(t, "web")
	t.Cleanup(func() { _ = c.Services.Deregister(context.Background(), id) })
	w := startPlanWatch(t, c, docPlan(t, apiPlanAgentService, `"web"`, `"`+id+`"`))
	w.next("no such service yet", func(v consul.WatchPlanValue) bool { return v.Type == consul.WatchTypeAgentService && v.Service == nil })

	require.NoError(t, c.Services.Register(ctx, &consul.AgentServiceRegistration{ID: id, Name: "web", Port: 80}))
	u := w.next("the registered service", func(v consul.WatchPlanValue) bool { return v.Service != nil })
	assert.Equal(t, 80, u.Value.Service.Port)
	assert.NotEmpty(t, u.Meta.ContentHash)

	require.NoError(t, c.Services.Register(ctx, &consul.AgentServiceRegistration{ID: id, Name: "web", Port: 81, Tags: []string{"v2"}}))
	u = w.next("the changed service", func(v consul.WatchPlanValue) bool { return v.Service != nil && v.Service.Port == 81 })
	assert.Equal(t, []string{"v2"}, u.Value.Service.Tags)
	require.Eventually(t, func() bool {
		for _, call := range obs.all() {
			if call.info.Route == "/v1/agent/service/:serviceID" && call.info.Hash {
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "it blocks on the service's content hash")

	require.NoError(t, c.Services.Deregister(ctx, id))
	w.next("the service gone", func(v consul.WatchPlanValue) bool { return v.Service == nil })
}

// The errors of a plan's read are the watch's: a 403 ends it.
func TestWatchPlanPermanentErrorEnds(t *testing.T) {
	_, c := newWire(t, reply{Status: 403, Body: "Permission denied"})
	plan := &consul.WatchPlan{Type: consul.WatchTypeKeyPrefix, Prefix: "app/", Token: "t"}
	n := 0
	for _, err := range plan.Watch(testCtx(t), c, watchTestFast...) {
		n++
		assert.True(t, errors.Is(err, consul.ErrPermissionDenied))
	}
	assert.Equal(t, 1, n)
}
