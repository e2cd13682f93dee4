package otelconsul_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/otelconsul"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"
)

// cannedTransport answers every request with the same small KV answer,
// without a network.
type cannedTransport struct {
	header http.Header
	body   []byte
}

func (t *cannedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: t.header, ContentLength: int64(len(t.body)),
		Body: io.NopCloser(bytes.NewReader(t.body)), Request: req}, nil
}

// BenchmarkKVGetTraced is a small KV read without tracing, traced by a
// no-op tracer provider, and traced and sampled by the SDK into an
// in-memory exporter (reset as it goes).
//
//	cd otelconsul && go test -run '^$' -bench . -benchmem -count 10
func BenchmarkKVGetTraced(b *testing.B) {
	rt := &cannedTransport{
		header: http.Header{"X-Consul-Index": {"12"}, "X-Consul-Knownleader": {"true"}, "X-Consul-Lastcontact": {"0"},
			"X-Consul-Default-Acl-Policy": {"allow"}, "Content-Type": {"application/json"}},
		body: []byte(`[{"LockIndex":0,"Key":"app/config","Flags":0,"Value":"eyJkZWJ1ZyI6dHJ1ZX0=","CreateIndex":10,"ModifyIndex":12}]`),
	}
	exp := tracetest.NewInMemoryExporter()
	sdk := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { _ = sdk.Shutdown(context.Background()) }()
	for _, bc := range []struct {
		name string
		obs  consul.Observer
	}{
		{"off", nil},
		{"noop", otelconsul.NewObserver(otelconsul.WithTracerProvider(noop.NewTracerProvider()))},
		{"sdk", otelconsul.NewObserver(otelconsul.WithTracerProvider(sdk))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := consul.NewClient(consul.Config{Address: "127.0.0.1:8500", Transport: rt, Observer: bc.obs})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, _, err := c.KV.Get(ctx, "app/config"); err != nil {
					b.Fatal(err)
				}
				if i%1024 == 0 {
					exp.Reset()
				}
			}
		})
	}
}
