package otelconsul_test

import (
	"context"
	"log"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/otelconsul"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func ExampleNewObserver() {
	tp := sdktrace.NewTracerProvider( /* sdktrace.WithBatcher(exporter) */ )
	defer tp.Shutdown(context.Background())
	otel.SetTracerProvider(tp)

	client, err := consul.NewClient(consul.Config{
		Observer: otelconsul.NewObserver(otelconsul.WithTracerProvider(tp)),
	})
	if err != nil {
		log.Fatal(err)
	}

	// One client span per call, "GET /v1/kv/:key", a child of the span in
	// ctx; a watch's requests each get one, children of the watch's span.
	ctx, span := tp.Tracer("app").Start(context.Background(), "load config")
	defer span.End()
	pair, _, err := client.KV.Get(ctx, "app/config")
	if err != nil {
		log.Fatal(err)
	}
	_ = pair
}
