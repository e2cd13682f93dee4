package discovery

import (
	"fmt"
	"testing"

	"github.com/goconsul/consul"
)

// benchInstances is an Instances holding n healthy instances of varied
// weights, without a watch.
func benchInstances(p Picker, n int) *Instances {
	entries := make([]*consul.ServiceEntry, n)
	for i := range entries {
		entries[i] = &consul.ServiceEntry{
			Node:    &consul.Node{Node: fmt.Sprintf("node-%03d", i), Address: "10.0.0.1"},
			Service: &consul.NodeService{ID: fmt.Sprintf("web-%03d", i), Service: "web", Port: 8000 + i, Weights: &consul.Weights{Passing: 1 + i%5, Warning: 1}},
			Checks:  []*consul.HealthCheck{{CheckID: "serfHealth", Status: consul.HealthPassing}},
		}
	}
	in := &Instances{picker: p, query: Query{Service: "web"}}
	in.snap.Store(newSnapshot(entries, &consul.Meta{}, &in.query))
	return in
}

// Next allocates nothing, with every picker.
func TestNextDoesNotAllocate(t *testing.T) {
	for p := range pickerEnd {
		in := benchInstances(p, 10)
		if a := testing.AllocsPerRun(1000, func() { _, _ = in.Next() }); a != 0 {
			t.Errorf("%s: %v allocs per Next", p, a)
		}
	}
}

// BenchmarkNext measures Next with each picker, over 3 and 100 instances,
// from one goroutine and from all of them at once.
//
//	go test -run '^$' -bench 'BenchmarkNext' -benchmem ./discovery/
func BenchmarkNext(b *testing.B) {
	for p := range pickerEnd {
		for _, n := range []int{3, 100} {
			in := benchInstances(p, n)
			b.Run(fmt.Sprintf("%s/%d", p, n), func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if _, err := in.Next(); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("%s/%d/parallel", p, n), func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := in.Next(); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}
