package discovery_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/goconsul/consul/discovery"
	"github.com/hashicorp/go-cleanhttp"
	"github.com/stretchr/testify/require"
)

// BenchmarkPropagation measures the time from a TTL check's change to the
// picker: each iteration fails one of three instances, waits until a
// subscriber of its Instances gets the set without it, then passes it
// again and waits until it is back, 150ms after the previous change; each
// change is one sample, timed from
// the start of the check's update call (which returns once the agent has
// synced the change to the catalog) and from its return. It reports the
// median and the 99th percentile, in milliseconds, on loopback against an
// agent of its own.
//
//	go test -run '^$' -bench BenchmarkPropagation -benchtime 100x ./discovery/
func BenchmarkPropagation(b *testing.B) {
	srv := consultest.NewServer(b, consultest.Config{})
	client := newClient(b, srv.HTTPAddr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rs := registerN(b, client, "prop", 3)
	in, err := discovery.NewInstances(ctx, client, discovery.Query{Service: "prop"})
	require.NoError(b, err)
	defer in.Close()
	require.NoError(b, in.WaitReady(ctx))

	// The subscriber stamps each set with its arrival.
	type arrival struct {
		at  time.Time
		has bool
	}
	sets := make(chan arrival, 16)
	go func() {
		for set, err := range in.Subscribe(ctx) {
			if err != nil {
				continue
			}
			has := slices.ContainsFunc(set, func(i *discovery.Instance) bool { return i.ID == "prop-1" })
			select {
			case sets <- arrival{time.Now(), has && len(set) == 3}:
			case <-ctx.Done():
				return
			}
		}
	}()
	waitSet := func(has bool) time.Time {
		timeout := time.After(10 * time.Second)
		for {
			select {
			case a := <-sets:
				if a.has == has {
					return a.at
				}
			case <-timeout:
				b.Fatalf("no set with has=%v", has)
			}
		}
	}
	waitSet(true)

	var fromCall, fromReturn []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, pass := range []bool{false, true} {
			// The watch starts requests WatchMinInterval (100ms) apart: a
			// pause longer than that measures a change that finds the
			// blocking request waiting, as changes spaced in time do.
			time.Sleep(150 * time.Millisecond)
			start := time.Now()
			if pass {
				require.NoError(b, rs[1].Pass(ctx, ""))
			} else {
				require.NoError(b, rs[1].Fail(ctx, "down"))
			}
			returned := time.Now()
			at := waitSet(pass)
			fromCall = append(fromCall, at.Sub(start))
			fromReturn = append(fromReturn, max(at.Sub(returned), 0))
		}
	}
	b.StopTimer()
	pct := func(s []time.Duration, p float64) float64 {
		slices.Sort(s)
		return float64(s[int(float64(len(s)-1)*p)].Microseconds()) / 1000
	}
	b.ReportMetric(pct(fromCall, 0.5), "p50-ms")
	b.ReportMetric(pct(fromCall, 0.99), "p99-ms")
	b.ReportMetric(pct(fromReturn, 0.5), "p50-after-call-ms")
	b.ReportMetric(pct(fromReturn, 0.99), "p99-after-call-ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkMemoryPerWatchedService measures what watching one more
// service costs a process: 100 Instances of 100 services (each its own
// blocking request, hence its own connection), and 100 more Instances of
// one service (sharing one request). Heap and goroutine stacks are
// measured after a GC, per service and per extra watcher.
//
//	go test -run '^$' -bench BenchmarkMemoryPerWatchedService -benchtime 3x ./discovery/
func BenchmarkMemoryPerWatchedService(b *testing.B) {
	addr := testAgent(b).HTTPAddr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const n = 100
	measure := func(name func(i int) string) (heap, stack, goroutines float64) {
		// A transport of its own, whose connections are closed after.
		tr := cleanhttp.DefaultPooledTransport()
		tr.MaxIdleConnsPerHost = 2 * n
		defer tr.CloseIdleConnections()
		client := newClient(b, addr, consul.Config{Transport: tr})
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		g0 := runtime.NumGoroutine()
		all := make([]*discovery.Instances, n)
		for i := range all {
			in, err := discovery.NewInstances(ctx, client, discovery.Query{Service: name(i)})
			require.NoError(b, err)
			all[i] = in
		}
		for _, in := range all {
			require.NoError(b, in.WaitReady(ctx))
		}
		time.Sleep(100 * time.Millisecond) // the blocking requests are sent
		runtime.GC()
		runtime.ReadMemStats(&m1)
		g1 := runtime.NumGoroutine()
		for _, in := range all {
			in.Close()
		}
		tr.CloseIdleConnections()
		time.Sleep(100 * time.Millisecond) // their goroutines exit
		return float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / n,
			float64(int64(m1.StackInuse)-int64(m0.StackInuse)) / n,
			float64(g1-g0) / n
	}
	var hs, ss, gs, hw, sw, gw float64
	for i := 0; i < b.N; i++ {
		h, s, g := measure(func(j int) string { return fmt.Sprintf("mem-%d-%d", i, j) })
		hs, ss, gs = hs+h, ss+s, gs+g
		h, s, g = measure(func(int) string { return fmt.Sprintf("mem-shared-%d", i) })
		hw, sw, gw = hw+h, sw+s, gw+g
	}
	f := float64(b.N)
	b.ReportMetric(hs/f, "heap-B/service")
	b.ReportMetric(ss/f, "stack-B/service")
	b.ReportMetric(gs/f, "goroutines/service")
	b.ReportMetric(hw/f, "heap-B/watcher")
	b.ReportMetric(sw/f, "stack-B/watcher")
	b.ReportMetric(gw/f, "goroutines/watcher")
	b.ReportMetric(0, "ns/op")
}
