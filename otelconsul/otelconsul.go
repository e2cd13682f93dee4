// Package otelconsul traces the calls of a goconsul client with
// OpenTelemetry: one client span per call, named by the route template.
//
//	client, err := consul.NewClient(consul.Config{
//		Observer: otelconsul.NewObserver(otelconsul.WithTracerProvider(tp)),
//	})
//
// It is a module of its own, so that a program that does not trace keeps
// the root module's single dependency.
//
// # Spans
//
// A call is one method call of the client (one request of a Watch, one
// stream opened): its span is named by the HTTP method and the route
// template, "GET /v1/kv/:key", never by a key, a name or an ID, so that
// span names stay few. Its attributes:
//
//   - http.request.method, url.template (the route template), server.address
//     and server.port (the agent of the last attempt),
//     http.response.status_code (of the last answer);
//   - consul.method: the client's method, "KV.Get";
//   - consul.datacenter, when the call names one; consul.consistency, when
//     not the default ("stale", "consistent", "leader");
//   - consul.blocking.index, consul.blocking.wait (seconds) and
//     consul.blocking.hash for a blocking read;
//   - consul.cache: the call asked the agent's cache; consul.cache.hit:
//     the agent answered from it;
//   - consul.index: the answer's X-Consul-Index;
//   - consul.stream: the answer is a stream (the span ends when its
//     headers arrived);
//   - http.request.resend_count: the attempts after the first, when
//     retries or failovers took any, each also a span event ("retry", or
//     "failover" when it moved to another agent, with consul.attempt and
//     the agent's server.address and server.port);
//   - error.type and an Error status when the call failed.
//
// A read of an absent object (the library's 404 rule: a nil value and no
// error) is not an error: its span has the status code 404 and an Unset
// status. The token and the bodies (KV values, registrations) are never
// recorded: the client does not show them to its Observer. An error's
// message, which names the request's path but never its token, is the
// span status's description.
//
// # Context
//
// The span's parent is the span in the call's context: the ctx given to
// the method. The span is then in the context the request is sent with, so
// that a traced http.RoundTripper (otelhttp's) nests its spans under it.
//
// A watch loop (consul.Watch, WatchPlan.Watch, a cache, a lock) makes one
// call per blocking request, each with its own span, whose parent is the
// span of the watch's context: start a span around the loop and pass its
// context to the watch to group its requests,
//
//	ctx, span := tracer.Start(ctx, "watch app config")
//	defer span.End()
//	for u, err := range consul.Watch(ctx, consul.Bind(client.KV.List, "app/")) { ... }
//
// A WatchGroup or a Cache runs its loop on a context of its own, not a
// watcher's: its requests' spans are roots.
package otelconsul

import (
	"context"
	"errors"
	"maps"
	"net"
	"net/url"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/goconsul/consul"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the spans: the tracer's name.
const ScopeName = "github.com/goconsul/consul/otelconsul"

// The attributes of this package's own, beyond OpenTelemetry's semantic
// conventions.
const (
	AttrMethod        = attribute.Key("consul.method")
	AttrDatacenter    = attribute.Key("consul.datacenter")
	AttrConsistency   = attribute.Key("consul.consistency")
	AttrBlockingIndex = attribute.Key("consul.blocking.index")
	AttrBlockingWait  = attribute.Key("consul.blocking.wait")
	AttrBlockingHash  = attribute.Key("consul.blocking.hash")
	AttrCache         = attribute.Key("consul.cache")
	AttrCacheHit      = attribute.Key("consul.cache.hit")
	AttrIndex         = attribute.Key("consul.index")
	AttrStream        = attribute.Key("consul.stream")
	AttrAttempt       = attribute.Key("consul.attempt")
)

// Option configures NewObserver.
type Option func(*config)

type config struct {
	tp    trace.TracerProvider
	attrs []attribute.KeyValue
}

// WithTracerProvider sets the tracer provider of the spans; the default is
// the global one (otel.GetTracerProvider()), as it is when the observer is
// made.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithAttributes adds attributes to every span, such as the name of the
// Consul cluster the client talks to.
func WithAttributes(attrs ...attribute.KeyValue) Option {
	return func(c *config) { c.attrs = append(c.attrs, attrs...) }
}

// NewObserver returns a consul.Observer that traces each call of a client
// with a client span; set it as consul.Config.Observer.
func NewObserver(opts ...Option) consul.Observer {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	return &observer{tracer: c.tp.Tracer(ScopeName), attrs: c.attrs}
}

type observer struct {
	tracer trace.Tracer
	attrs  []attribute.KeyValue
	// names and servers cache the span names by method and route, and the
	// server attributes by agent: both are few, and a call then builds
	// neither. They are copied on write and read without a lock.
	names   atomic.Pointer[map[[2]string]string]
	servers atomic.Pointer[map[string][]attribute.KeyValue]
	mu      sync.Mutex // serialises the writers of names and servers
}

// spanName is "GET /v1/kv/:key".
func (o *observer) spanName(method, route string) string {
	k := [2]string{method, route}
	if m := o.names.Load(); m != nil {
		if n, ok := (*m)[k]; ok {
			return n
		}
	}
	n := method + " " + route
	o.mu.Lock()
	defer o.mu.Unlock()
	old := o.names.Load()
	if old != nil && len(*old) >= maxCached {
		return n
	}
	m := make(map[[2]string]string, 1+mapLen(old))
	if old != nil {
		maps.Copy(m, *old)
	}
	m[k] = n
	o.names.Store(&m)
	return n
}

// server returns the server.address and server.port of an agent's base
// URL.
func (o *observer) server(agent string) []attribute.KeyValue {
	if m := o.servers.Load(); m != nil {
		if a, ok := (*m)[agent]; ok {
			return a
		}
	}
	a := serverAttrs(agent)
	o.mu.Lock()
	defer o.mu.Unlock()
	old := o.servers.Load()
	if old != nil && len(*old) >= maxCached {
		return a
	}
	m := make(map[string][]attribute.KeyValue, 1+mapLen(old))
	if old != nil {
		maps.Copy(m, *old)
	}
	m[agent] = a
	o.servers.Store(&m)
	return a
}

// maxCached bounds each cache: routes and agents are few, but Client.Do
// takes any route.
const maxCached = 1024

func mapLen[M ~map[K]V, K comparable, V any](m *M) int {
	if m == nil {
		return 0
	}
	return len(*m)
}

// StartCall starts the call's span, as a child of the span in ctx.
func (o *observer) StartCall(ctx context.Context, info *consul.CallStart) (context.Context, consul.CallObserver) {
	attrs := make([]attribute.KeyValue, 0, 12+len(o.attrs))
	attrs = append(attrs,
		semconv.HTTPRequestMethodKey.String(info.Method),
		semconv.URLTemplate(info.Route),
		AttrMethod.String(info.Name),
	)
	if info.Datacenter != "" {
		attrs = append(attrs, AttrDatacenter.String(info.Datacenter))
	}
	if info.Consistency != consul.ConsistencyDefault {
		attrs = append(attrs, AttrConsistency.String(info.Consistency.String()))
	}
	if info.Index > 0 || info.Hash {
		attrs = append(attrs, AttrBlockingWait.Float64(info.Wait.Seconds()))
		if info.Hash {
			attrs = append(attrs, AttrBlockingHash.Bool(true))
		} else {
			attrs = append(attrs, AttrBlockingIndex.Int64(clampInt64(info.Index)))
		}
	}
	if info.Cached {
		attrs = append(attrs, AttrCache.Bool(true))
	}
	if info.Stream {
		attrs = append(attrs, AttrStream.Bool(true))
	}
	attrs = append(attrs, o.attrs...)
	ctx, span := o.tracer.Start(ctx, o.spanName(info.Method, info.Route),
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	if !span.IsRecording() {
		// Not sampled, or a no-op tracer: nothing to add to it.
		return ctx, unrecorded{span}
	}
	return ctx, &call{o: o, span: span, agent: info.Agent}
}

// unrecorded is the CallObserver of a span that records nothing.
type unrecorded struct{ span trace.Span }

func (unrecorded) Attempt(int, string)   {}
func (u unrecorded) End(*consul.CallEnd) { u.span.End() }

// call is the CallObserver of one call.
type call struct {
	o     *observer
	span  trace.Span
	agent string // the agent of the last attempt
}

// Attempt records a retry, or a failover to another agent, as a span
// event.
func (c *call) Attempt(n int, agent string) {
	name := "retry"
	if agent != c.agent {
		name = "failover"
	}
	c.agent = agent
	attrs := []attribute.KeyValue{AttrAttempt.Int(n)}
	attrs = append(attrs, c.o.server(agent)...)
	c.span.AddEvent(name, trace.WithAttributes(attrs...))
}

// End ends the span with the answer's status and what its headers said.
func (c *call) End(end *consul.CallEnd) {
	attrs := make([]attribute.KeyValue, 0, 8)
	attrs = append(attrs, c.o.server(end.Agent)...)
	if end.StatusCode != 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(end.StatusCode))
	}
	if end.Attempts > 1 {
		attrs = append(attrs, semconv.HTTPRequestResendCount(end.Attempts-1))
	}
	if m := end.Meta; m != nil {
		if m.Index > 0 {
			attrs = append(attrs, AttrIndex.Int64(clampInt64(m.Index)))
		}
		if m.CacheHit {
			attrs = append(attrs, AttrCacheHit.Bool(true))
		}
	}
	if end.Err != nil {
		attrs = append(attrs, semconv.ErrorTypeKey.String(errorType(end.Err)))
		c.span.SetStatus(codes.Error, end.Err.Error())
	}
	c.span.SetAttributes(attrs...)
	c.span.End()
}

// serverAttrs are the host and port of an agent's base URL.
func serverAttrs(agent string) []attribute.KeyValue {
	if agent == "" {
		return nil
	}
	u, err := url.Parse(agent)
	if err != nil || u.Host == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return []attribute.KeyValue{semconv.ServerAddress(u.Host)}
	}
	attrs := []attribute.KeyValue{semconv.ServerAddress(host)}
	if p, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, semconv.ServerPort(p))
	}
	return attrs
}

// errorType classes an error for error.type: the status code of an
// answer, or the error's kind.
func errorType(err error) string {
	var se *consul.StatusError
	var ae *consul.ArgumentError
	var te *consul.TxnError
	switch {
	case errors.As(err, &te):
		return "409"
	case errors.As(err, &se):
		return strconv.Itoa(se.StatusCode)
	case errors.As(err, &ae):
		return "argument"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, consul.ErrResponseTooLarge):
		return "response_too_large"
	}
	var ne net.Error
	if errors.As(err, &ne) {
		if ne.Timeout() {
			return "timeout"
		}
		return "network"
	}
	return reflect.TypeOf(err).String()
}

func clampInt64(n uint64) int64 {
	if n > 1<<63-1 {
		return 1<<63 - 1
	}
	return int64(n)
}
