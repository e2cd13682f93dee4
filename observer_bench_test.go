package consul_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/goconsul/consul"
)

// nopObserver sees every call and does nothing: the cost of the hook
// itself.
type nopObserver struct{}

type nopCall struct{}

func (nopObserver) StartCall(ctx context.Context, _ *consul.CallStart) (context.Context, consul.CallObserver) {
	return ctx, nopCall{}
}
func (nopCall) Attempt(int, string) {}
func (nopCall) End(*consul.CallEnd) {}

// cannedTransport answers every request with the same small KV answer,
// without a network or a server, so that a benchmark counts the client's
// own work (and the few allocations of the answer it makes).
type cannedTransport struct {
	header http.Header
	body   []byte
}

func (t *cannedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: t.header, ContentLength: int64(len(t.body)),
		Body: io.NopCloser(bytes.NewReader(t.body)), Request: req}, nil
}

// BenchmarkKVGetObserver is a small KV read with no Observer (tracing off)
// and with one that does nothing: what the hook costs a call.
//
//	go test -run '^$' -bench BenchmarkKVGetObserver -benchmem -count 10 .
func BenchmarkKVGetObserver(b *testing.B) {
	rt := &cannedTransport{
		header: http.Header{
			"X-Consul-Index":              {"12"},
			"X-Consul-Knownleader":        {"true"},
			"X-Consul-Lastcontact":        {"0"},
			"X-Consul-Default-Acl-Policy": {"allow"},
			"Content-Type":                {"application/json"},
		},
		body: []byte(`[{"LockIndex":0,"Key":"app/config","Flags":0,"Value":"eyJkZWJ1ZyI6dHJ1ZX0=","CreateIndex":10,"ModifyIndex":12}]`),
	}
	for _, bc := range []struct {
		name string
		obs  consul.Observer
	}{{"nil", nil}, {"nop", nopObserver{}}} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := consul.NewClient(consul.Config{Address: "127.0.0.1:8500", Transport: rt, Observer: bc.obs})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, _, err := c.KV.Get(ctx, "app/config"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
