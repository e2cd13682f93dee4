package bench

import (
	"context"
	"net/http"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/bench/internal/fixture"
	"github.com/hashicorp/consul/api"
)

// The answers at scale (go run ./record -scale): a health service of 5,000
// instances and a KV listing of 100,000 keys, read whole by each client.
// Each op also returns what it decoded, so that its size can be measured.
type scaleOp struct {
	name     string
	want     int
	ours     func(ctx context.Context, e *env) (any, int, error)
	official func(ctx context.Context, e *env) (any, int, error)
	floor    func(ctx context.Context, e *env) (any, int, error)
}

var scaleOps = []*scaleOp{
	{
		name: "HealthService5000", want: fixture.ScaleInstances,
		ours: func(ctx context.Context, e *env) (any, int, error) {
			es, _, err := e.ours.Health.ListServiceInstances(ctx, fixture.ScaleService, consul.Passing())
			return es, len(es), err
		},
		official: func(ctx context.Context, e *env) (any, int, error) {
			es, _, err := e.official.Health().Service(fixture.ScaleService, "", true, (&api.QueryOptions{}).WithContext(ctx))
			return es, len(es), err
		},
		floor: func(ctx context.Context, e *env) (any, int, error) {
			return nil, fixture.ScaleInstances, e.floorDo(ctx, http.MethodGet, "/v1/health/service/"+fixture.ScaleService+"?passing", nil)
		},
	},
	{
		name: "KVList100000", want: fixture.ScaleKeys,
		ours: func(ctx context.Context, e *env) (any, int, error) {
			ps, _, err := e.ours.KV.List(ctx, fixture.ScalePrefix)
			return ps, len(ps), err
		},
		official: func(ctx context.Context, e *env) (any, int, error) {
			ps, _, err := e.official.KV().List(fixture.ScalePrefix, (&api.QueryOptions{}).WithContext(ctx))
			return ps, len(ps), err
		},
		floor: func(ctx context.Context, e *env) (any, int, error) {
			return nil, fixture.ScaleKeys, e.floorDo(ctx, http.MethodGet, "/v1/kv/"+fixture.ScalePrefix+"?recurse", nil)
		},
	},
}

func (o *scaleOp) fn(client string) func(ctx context.Context, e *env) (any, int, error) {
	switch client {
	case "ours":
		return o.ours
	case "official":
		return o.official
	}
	return o.floor
}

// heapOf measures one call of f: its peak heap, and the heap its result
// keeps once collected. The peak is the largest heap (live objects and
// those not yet freed) sampled while f runs with GOGC=1, so that garbage is
// freed about as soon as it is made: the live peak. B/op, by contrast,
// counts every byte allocated, garbage included.
func heapOf(f func() (any, error)) (peak, result uint64, err error) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	heap := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	runtime.GC()
	base := heap()
	old := debug.SetGCPercent(1)
	stop, done := make(chan struct{}), make(chan uint64)
	go func() {
		var top uint64
		for {
			if h := heap(); h > top {
				top = h
			}
			select {
			case <-stop:
				done <- top
				return
			default:
				runtime.Gosched()
			}
		}
	}()
	v, err := f()
	close(stop)
	top := <-done
	if h := heap(); h > top {
		top = h
	}
	debug.SetGCPercent(old)
	runtime.GC()
	after := heap()
	runtime.KeepAlive(v)
	if top > base {
		peak = top - base
	}
	if after > base {
		result = after - base
	}
	return peak, result, err
}

// BenchmarkReplayScale reads the answers at scale from the replay server,
// with time and allocations per read, and two metrics of one read (see
// heapOf): peak-heap-B and result-B (what the decoded answer keeps);
// peak/result is their ratio.
func BenchmarkReplayScale(b *testing.B) {
	for _, o := range scaleOps {
		for _, c := range clients {
			f := o.fn(c)
			b.Run("op="+o.name+"/client="+c, func(b *testing.B) {
				e := replayTarget(b)
				ctx := context.Background()
				if _, n, err := f(ctx, e); err != nil || n != o.want {
					b.Fatalf("%d read, %v", n, err)
				}
				peak, result, err := heapOf(func() (any, error) { v, _, err := f(ctx, e); return v, err })
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, _, err := f(ctx, e); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(peak), "peak-heap-B")
				if c != "floor" {
					b.ReportMetric(float64(result), "result-B")
					b.ReportMetric(float64(peak)/float64(result), "peak/result")
				}
			})
		}
	}
}
