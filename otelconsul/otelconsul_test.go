package otelconsul_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/goconsul/consul/otelconsul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// The agents of the tests, started on first use: one with ACLs off, one
// with ACLs on (default deny).
var (
	agentOnce, aclOnce sync.Once
	agent, aclAgent    *consultest.Server
	agentErr, aclErr   error
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, s := range []*consultest.Server{agent, aclAgent} {
		if s != nil {
			if code != 0 {
				fmt.Fprintf(os.Stderr, "log of agent %s:\n%s\n", s.NodeName, s.LogTail(100))
			}
			_ = s.Close()
		}
	}
	os.Exit(code)
}

func testAgent(t *testing.T) *consultest.Server {
	agentOnce.Do(func() { agent, agentErr = consultest.Start(consultest.Config{}) })
	require.NoError(t, agentErr)
	return agent
}

func testACLAgent(t *testing.T) *consultest.Server {
	aclOnce.Do(func() { aclAgent, aclErr = consultest.Start(consultest.Config{ACL: true}) })
	require.NoError(t, aclErr)
	return aclAgent
}

// traced returns a client of addr traced into an in-memory exporter.
func traced(t *testing.T, cfg consul.Config) (*consul.Client, *tracetest.InMemoryExporter, trace.Tracer) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	cfg.Observer = otelconsul.NewObserver(otelconsul.WithTracerProvider(tp),
		otelconsul.WithAttributes(attribute.String("cluster", "test")))
	c, err := consul.NewClient(cfg)
	require.NoError(t, err)
	return c, exp, tp.Tracer("test")
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func attrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

// everyString is every string a span holds: its name, attribute values,
// events and their attributes, status, links.
func everyString(s tracetest.SpanStub) []string {
	out := []string{s.Name, s.Status.Description}
	for _, kv := range s.Attributes {
		out = append(out, string(kv.Key), kv.Value.String())
	}
	for _, e := range s.Events {
		out = append(out, e.Name)
		for _, kv := range e.Attributes {
			out = append(out, string(kv.Key), kv.Value.String())
		}
	}
	return out
}

func TestSpanPerCallIntegration(t *testing.T) {
	srv := testAgent(t)
	c, exp, _ := traced(t, consul.Config{Address: srv.HTTPAddr})
	ctx := ctxT(t)
	key := "otel/" + strings.ReplaceAll(t.Name(), "/", "-") + "/config"

	require.NoError(t, c.KV.Put(ctx, key, []byte("v1")))
	pair, meta, err := c.KV.Get(ctx, key, consul.Stale(), consul.Datacenter(srv.Datacenter))
	require.NoError(t, err)
	require.NotNil(t, pair)
	missing, _, err := c.KV.Get(ctx, key+"-missing")
	require.NoError(t, err)
	require.Nil(t, missing)
	_, _, err = c.Catalog.ListServices(ctx, consul.Cached())
	require.NoError(t, err)
	_, _, err = c.Catalog.ListServices(ctx, consul.Cached())
	require.NoError(t, err)
	_, _, err = c.Txn.New().CheckIndex(key, pair.ModifyIndex+1000).Execute(ctx)
	require.Error(t, err)
	_, _, err = c.KV.Get(ctx, key, consul.Tag("x")) // refused before sending: no call, no span
	require.Error(t, err)

	spans := exp.GetSpans()
	require.Len(t, spans, 6)
	for _, s := range spans {
		assert.Equal(t, trace.SpanKindClient, s.SpanKind)
		assert.Equal(t, otelconsul.ScopeName, s.InstrumentationScope.Name)
		assert.NotContains(t, s.Name, "config", "a span is named by its route template, never by a key")
		a := attrs(s)
		assert.Equal(t, "test", a["cluster"].AsString())
		assert.Equal(t, "127.0.0.1", a["server.address"].AsString())
		assert.NotZero(t, a["server.port"].AsInt64())
	}

	put, get, absent, list1, list2, txn := spans[0], spans[1], spans[2], spans[3], spans[4], spans[5]
	assert.Equal(t, "PUT /v1/kv/:key", put.Name)
	assert.Equal(t, "KV.Put", attrs(put)["consul.method"].AsString())
	assert.Equal(t, int64(200), attrs(put)["http.response.status_code"].AsInt64())

	assert.Equal(t, "GET /v1/kv/:key", get.Name)
	a := attrs(get)
	assert.Equal(t, "GET", a["http.request.method"].AsString())
	assert.Equal(t, "/v1/kv/:key", a["url.template"].AsString())
	assert.Equal(t, "KV.Get", a["consul.method"].AsString())
	assert.Equal(t, srv.Datacenter, a["consul.datacenter"].AsString())
	assert.Equal(t, "stale", a["consul.consistency"].AsString())
	assert.Equal(t, int64(meta.Index), a["consul.index"].AsInt64())
	assert.Equal(t, codes.Unset, get.Status.Code)
	assert.NotContains(t, a, attribute.Key("consul.blocking.index"), "not a blocking read")

	// The 404 rule: an absent key is an answer, not an error.
	assert.Equal(t, int64(404), attrs(absent)["http.response.status_code"].AsInt64())
	assert.Equal(t, codes.Unset, absent.Status.Code)

	assert.Equal(t, "GET /v1/catalog/services", list1.Name)
	assert.True(t, attrs(list1)["consul.cache"].AsBool())
	assert.NotContains(t, attrs(list1), attribute.Key("consul.cache.hit"), "the first read fills the agent's cache")
	assert.True(t, attrs(list2)["consul.cache.hit"].AsBool(), "the second is served from it")

	assert.Equal(t, "PUT /v1/txn", txn.Name)
	assert.Equal(t, codes.Error, txn.Status.Code)
	assert.Equal(t, "409", attrs(txn)["error.type"].AsString())
	assert.Equal(t, int64(409), attrs(txn)["http.response.status_code"].AsInt64())
	assert.Contains(t, txn.Status.Description, "rolled back")
}

// The token and the values written never reach a span, whatever the call
// and however it ends.
func TestSpansHoldNoTokenNorValueIntegration(t *testing.T) {
	srv := testACLAgent(t)
	const secret = "s3cr3t-v4lu3-of-the-key"
	bogus := "00000000-1111-2222-3333-444444444444"
	c, exp, _ := traced(t, consul.Config{Address: srv.HTTPAddr, Token: srv.ManagementToken})
	ctx := ctxT(t)

	require.NoError(t, c.KV.Put(ctx, "otel/secret", []byte(secret)))
	pair, _, err := c.KV.Get(ctx, "otel/secret")
	require.NoError(t, err)
	require.Equal(t, secret, string(pair.Value))
	_, _, err = c.Txn.New().Set("otel/secret2", []byte(secret)).Get("otel/secret").Execute(ctx)
	require.NoError(t, err)
	_, _, err = c.KV.Get(ctx, "otel/secret", consul.Token(bogus))
	require.ErrorIs(t, err, consul.ErrPermissionDenied)
	_, err = c.KV.PutCAS(ctx, "otel/secret", []byte(secret), 1, consul.Token(bogus))
	require.Error(t, err)

	spans := exp.GetSpans()
	require.Len(t, spans, 5)
	for _, s := range spans {
		for _, str := range everyString(s) {
			assert.NotContains(t, str, srv.ManagementToken, "span %s", s.Name)
			assert.NotContains(t, str, bogus, "span %s", s.Name)
			assert.NotContains(t, str, secret, "span %s", s.Name)
		}
	}
	assert.Equal(t, "403", attrs(spans[3])["error.type"].AsString())
	assert.Equal(t, codes.Error, spans[3].Status.Code)
}

// A watch makes one span per request, each a child of the span of the
// watch's context, the blocking ones with their index and wait.
func TestWatchSpanPerRequestIntegration(t *testing.T) {
	srv := testAgent(t)
	c, exp, tracer := traced(t, consul.Config{Address: srv.HTTPAddr})
	ctx := ctxT(t)
	key := "otel/" + t.Name()
	require.NoError(t, c.KV.Put(ctx, key, []byte("0")))

	wctx, parent := tracer.Start(ctx, "watch config")
	seen := 0
	for u, err := range consul.Watch(wctx, consul.Bind(c.KV.Get, key), consul.WatchWait(2*time.Second), consul.WatchMinInterval(0)) {
		require.NoError(t, err)
		seen++
		if seen == 3 {
			break
		}
		go func(v string) {
			time.Sleep(50 * time.Millisecond)
			_ = c.KV.Put(context.Background(), key, []byte(v+"1"))
		}(string(u.Value.Value))
	}
	parent.End()

	var reqs []tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.Name == "GET /v1/kv/:key" {
			reqs = append(reqs, s)
		}
	}
	require.GreaterOrEqual(t, len(reqs), 3, "one span per request")
	for i, s := range reqs {
		assert.Equal(t, parent.SpanContext().SpanID(), s.Parent.SpanID(), "request %d is a child of the watch's span", i)
		assert.Equal(t, parent.SpanContext().TraceID(), s.SpanContext.TraceID())
		a := attrs(s)
		if i == 0 {
			assert.NotContains(t, a, attribute.Key("consul.blocking.index"), "the first read does not block")
			continue
		}
		assert.Positive(t, a["consul.blocking.index"].AsInt64(), "request %d blocks", i)
		assert.Equal(t, 2.0, a["consul.blocking.wait"].AsFloat64())
	}
}

// recordingTransport records the span in each request's context.
type recordingTransport struct {
	mu    sync.Mutex
	spans []trace.SpanContext
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.spans = append(rt.spans, trace.SpanContextFromContext(r.Context()))
	rt.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// The call's span is in the context its requests are sent with, so that
// a traced transport nests under it; and the caller's span is its parent.
func TestContextPropagationIntegration(t *testing.T) {
	srv := testAgent(t)
	rt := &recordingTransport{}
	c, exp, tracer := traced(t, consul.Config{Address: srv.HTTPAddr, Transport: rt})
	ctx, parent := tracer.Start(ctxT(t), "handler")
	_, _, err := c.Status.Leader(ctx)
	require.NoError(t, err)
	parent.End()
	spans := exp.GetSpans()
	require.Len(t, spans, 2)
	call := spans[0]
	assert.Equal(t, "GET /v1/status/leader", call.Name)
	assert.Equal(t, parent.SpanContext().SpanID(), call.Parent.SpanID())
	require.Len(t, rt.spans, 1)
	assert.Equal(t, call.SpanContext.SpanID(), rt.spans[0].SpanID(), "the request carries the call's span")
}

// Retries and failovers are span events, and the resend count an
// attribute; the span's server is the agent that answered.
func TestRetryAndFailoverIntegration(t *testing.T) {
	srv := testAgent(t)
	proxy := consultest.NewFaultProxy(t, srv.HTTPAddr)
	var n atomic.Int32
	proxy.OnFunc(func(r *http.Request) bool { return r.URL.Path == "/v1/status/leader" && n.Add(1) == 1 }).
		Status(500, 0, "no leader")
	c, exp, _ := traced(t, consul.Config{Address: proxy.Addr(), Retries: 2,
		RetryBackoff: consul.Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}})
	_, _, err := c.Status.Leader(ctxT(t))
	require.NoError(t, err)
	s := exp.GetSpans()[0]
	require.Len(t, s.Events, 1)
	assert.Equal(t, "retry", s.Events[0].Name)
	assert.Equal(t, int64(1), attrs(s)["http.request.resend_count"].AsInt64())
	assert.Equal(t, int64(200), attrs(s)["http.response.status_code"].AsInt64())

	// A dead agent first: the call fails over to the live one.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := l.Addr().String()
	require.NoError(t, l.Close())
	c, exp, _ = traced(t, consul.Config{Address: dead, Fallbacks: []string{srv.HTTPAddr}})
	_, _, err = c.Status.Leader(ctxT(t))
	require.NoError(t, err)
	s = exp.GetSpans()[0]
	require.Len(t, s.Events, 1)
	e := s.Events[0]
	assert.Equal(t, "failover", e.Name)
	ev := map[attribute.Key]attribute.Value{}
	for _, kv := range e.Attributes {
		ev[kv.Key] = kv.Value
	}
	_, port, _ := net.SplitHostPort(srv.HTTPAddr)
	assert.Equal(t, port, ev["server.port"].String(), "the event names the agent failed over to")
	assert.Equal(t, int64(2), ev["consul.attempt"].AsInt64())
	assert.Equal(t, port, attrs(s)["server.port"].String())

	// A call that gets no answer at all: a network error.
	c, exp, _ = traced(t, consul.Config{Address: dead, Timeout: 2 * time.Second})
	_, _, err = c.Status.Leader(ctxT(t))
	require.Error(t, err)
	s = exp.GetSpans()[0]
	assert.Equal(t, codes.Error, s.Status.Code)
	assert.Equal(t, "network", attrs(s)["error.type"].AsString())
	assert.NotContains(t, attrs(s), attribute.Key("http.response.status_code"))
}
