package consul_test

import (
	"context"
	"net/http"
	"net/http/httptest"
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

// BenchmarkKVGetObserver is a small KV read with no Observer (tracing off)
// and with one that does nothing: what the hook costs a call.
//
//	go test -run '^$' -bench BenchmarkKVGetObserver -benchmem -count 10 .
func BenchmarkKVGetObserver(b *testing.B) {
	body := []byte(`[{"LockIndex":0,"Key":"app/config","Flags":0,"Value":"eyJkZWJ1ZyI6dHJ1ZX0=","CreateIndex":10,"ModifyIndex":12}]`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h["X-Consul-Index"] = []string{"12"}
		h["X-Consul-Knownleader"] = []string{"true"}
		h["X-Consul-Lastcontact"] = []string{"0"}
		h["X-Consul-Default-Acl-Policy"] = []string{"allow"}
		h["Content-Type"] = []string{"application/json"}
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	for _, bc := range []struct {
		name string
		obs  consul.Observer
	}{{"nil", nil}, {"nop", nopObserver{}}} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := consul.NewClient(consul.Config{Address: srv.URL, Observer: bc.obs})
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
