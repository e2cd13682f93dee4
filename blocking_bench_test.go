package consul_test

import (
	"context"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
)

// watchBenchAgent is a private agent allowing many connections from one
// client (Consul's default http_max_conns_per_client is 200).
func watchBenchAgent(b *testing.B) *consultest.Server {
	return consultest.NewServer(b, consultest.Config{Extra: map[string]any{
		"limits": map[string]any{"http_max_conns_per_client": 5000},
	}})
}

// watchBenchMeasure starts n watchers with start, waits until each saw its
// first value, and reports the heap and stack memory and the goroutines
// they added, per watcher.
func watchBenchMeasure(b *testing.B, n int, start func(ctx context.Context, i int, first func())) {
	for it := 0; it < b.N; it++ {
		ctx, cancel := context.WithCancel(context.Background())
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		g0 := runtime.NumGoroutine()
		t0 := time.Now()

		var ready, done sync.WaitGroup
		ready.Add(n)
		done.Add(n)
		for i := 0; i < n; i++ {
			go func() {
				defer done.Done()
				var once sync.Once
				start(ctx, i, func() { once.Do(ready.Done) })
			}()
		}
		ready.Wait()
		setup := time.Since(t0)
		time.Sleep(200 * time.Millisecond) // let the blocking requests settle
		runtime.GC()
		runtime.ReadMemStats(&m1)
		g1 := runtime.NumGoroutine()
		mem := float64(int64(m1.HeapAlloc+m1.StackInuse) - int64(m0.HeapAlloc+m0.StackInuse))
		b.ReportMetric(mem/float64(n), "B/watcher")
		b.ReportMetric(float64(g1-g0)/float64(n), "goroutines/watcher")
		b.ReportMetric(float64(setup.Milliseconds()), "ms-to-all-ready")
		cancel()
		done.Wait()
	}
}

// BenchmarkWatchShared10000OneQuery: 10,000 watchers of one key through a
// WatchGroup, i.e. one blocking request for all.
func BenchmarkWatchShared10000OneQuery(b *testing.B) {
	srv := watchBenchAgent(b)
	c := newClient(b, srv)
	key := "bench/shared"
	if err := c.KV.Put(context.Background(), key, []byte("v")); err != nil {
		b.Fatal(err)
	}
	g := consul.NewWatchGroup(func(key string) consul.BlockingRead[*consul.KVPair] { return consul.Bind(c.KV.Get, key) }, consul.WatchWait(time.Minute))
	watchBenchMeasure(b, 10000, func(ctx context.Context, _ int, first func()) {
		for _, err := range g.Watch(ctx, key) {
			if err == nil {
				first()
			}
		}
	})
}

// BenchmarkWatch1000Keys: 1,000 watchers of 1,000 different keys, each its
// own Watch loop and blocking request (so its own connection).
func BenchmarkWatch1000Keys(b *testing.B) {
	srv := watchBenchAgent(b)
	tr := &http.Transport{MaxIdleConnsPerHost: 2000}
	c := newClient(b, srv, consul.Config{Transport: tr})
	for i := 0; i < 1000; i++ {
		if err := c.KV.Put(context.Background(), "bench/k"+strconv.Itoa(i), []byte("v")); err != nil {
			b.Fatal(err)
		}
	}
	watchBenchMeasure(b, 1000, func(ctx context.Context, i int, first func()) {
		for _, err := range consul.Watch(ctx, consul.Bind(c.KV.Get, "bench/k"+strconv.Itoa(i)), consul.WatchWait(time.Minute)) {
			if err == nil {
				first()
			}
		}
	})
	tr.CloseIdleConnections()
}

// BenchmarkWatchShared1000Keys: the same 1,000 keys through a WatchGroup:
// one loop per key, shared by nobody, to show the group's own cost.
func BenchmarkWatchShared1000Keys(b *testing.B) {
	srv := watchBenchAgent(b)
	tr := &http.Transport{MaxIdleConnsPerHost: 2000}
	c := newClient(b, srv, consul.Config{Transport: tr})
	for i := 0; i < 1000; i++ {
		if err := c.KV.Put(context.Background(), "bench/k"+strconv.Itoa(i), []byte("v")); err != nil {
			b.Fatal(err)
		}
	}
	g := consul.NewWatchGroup(func(key string) consul.BlockingRead[*consul.KVPair] { return consul.Bind(c.KV.Get, key) }, consul.WatchWait(time.Minute))
	watchBenchMeasure(b, 1000, func(ctx context.Context, i int, first func()) {
		key := "bench/k" + strconv.Itoa(i)
		for _, err := range g.Watch(ctx, key) {
			if err == nil {
				first()
			}
		}
	})
	tr.CloseIdleConnections()
}
