package bench

import (
	encjson "encoding/json"
	"os"
	"path/filepath"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/goconsul/consul"
	"github.com/hashicorp/consul/api"
)

// BenchmarkDecode measures decoding alone, from memory, of the recorded
// answers: encoding/json and github.com/go-json-experiment/json (the
// upstream of encoding/json/v2, with its default options) into this
// library's types (both call the types' own UnmarshalJSON methods), and
// encoding/json into the official client's types. The
// library's own fast path is measured by BenchmarkFastDecode in the root
// package (go test -run '^$' -bench FastDecode .).
func BenchmarkDecode(b *testing.B) {
	type target struct {
		name string
		mk   func() any
	}
	for _, c := range []struct {
		name, file string
		ours       func() any
		official   func() any
	}{
		{"health", "health_service.json", func() any { return new([]*consul.ServiceEntry) }, func() any { return new([]*api.ServiceEntry) }},
		{"kvlist", "kv_list.json", func() any { return new([]*consul.KVPair) }, func() any { return new(api.KVPairs) }},
		{"services", "catalog_services.json", func() any { return new(map[string][]string) }, func() any { return new(map[string][]string) }},
		{"health5000", "health_service_5000.json", func() any { return new([]*consul.ServiceEntry) }, func() any { return new([]*api.ServiceEntry) }},
		{"kvlist100000", "kv_list_100000.json", func() any { return new([]*consul.KVPair) }, func() any { return new(api.KVPairs) }},
	} {
		body, err := os.ReadFile(filepath.Join("testdata", c.file))
		if err != nil {
			b.Fatal(err)
		}
		for _, d := range []struct {
			name string
			mk   func() any
			dec  func([]byte, any) error
		}{
			// Named as in the root's BenchmarkFastDecode: encoding/json
			// calling the fast UnmarshalJSON methods of HealthCheck.
			{"encoding-json-fast-methods", c.ours, func(b []byte, v any) error { return encjson.Unmarshal(b, v) }},
			{"json-v2", c.ours, func(b []byte, v any) error { return jsonv2.Unmarshal(b, v) }},
			{"encoding-json-official-types", c.official, func(b []byte, v any) error { return encjson.Unmarshal(b, v) }},
		} {
			b.Run("body="+c.name+"/decoder="+d.name, func(b *testing.B) {
				peak, result, err := heapOf(func() (any, error) { v := d.mk(); return v, d.dec(body, v) })
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(peak), "peak-heap-B")
				b.ReportMetric(float64(result), "result-B")
				b.ReportAllocs()
				b.SetBytes(int64(len(body)))
				for i := 0; i < b.N; i++ {
					if err := d.dec(body, d.mk()); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
