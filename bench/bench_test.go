package bench

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/bench/internal/fixture"
	"github.com/hashicorp/consul/api"
)

type runFunc = func(ctx context.Context, e *env) (int, error)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// The clients, in the order of benchstat's columns: the first is the base
// the others are compared with.
var clients = []string{"official", "ours", "floor"}

func (o *op) fn(client string) runFunc {
	switch client {
	case "ours":
		return o.ours
	case "official":
		return o.official
	}
	return o.floor
}

// BenchmarkReplay runs every operation against the replay server of
// recorded agent answers: it measures the clients' own cost.
func BenchmarkReplay(b *testing.B) { benchAll(b, replayTarget) }

// BenchmarkReplayIdentity runs the operations whose answers Consul gzips
// (over 1,400 bytes) with clients that do not ask for gzip, as a client of
// a local agent could: the cost of decompression is the difference with
// BenchmarkReplay.
func BenchmarkReplayIdentity(b *testing.B) {
	for _, o := range ops {
		switch o.name {
		case "KVList1000", "HealthService200", "CatalogServices500", "Txn64":
		default:
			continue
		}
		for _, c := range clients {
			f := o.fn(c)
			b.Run("op="+o.name+"/client="+c, func(b *testing.B) {
				e := replayIdentityTarget(b)
				ctx := context.Background()
				if _, err := f(ctx, e); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := f(ctx, e); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkAgent runs every operation against a real agent.
func BenchmarkAgent(b *testing.B) { benchAll(b, agentTarget) }

func benchAll(b *testing.B, target func(testing.TB) *env) {
	for _, o := range ops {
		for _, c := range clients {
			f := o.fn(c)
			if f == nil {
				continue
			}
			b.Run("op="+o.name+"/client="+c, func(b *testing.B) {
				e := target(b)
				ctx := context.Background()
				if _, err := f(ctx, e); err != nil { // warm the connection
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := f(ctx, e); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
	for _, c := range clients {
		b.Run("op=WatchLatency/client="+c, func(b *testing.B) {
			benchWatch(b, target(b), c)
		})
	}
}

// watcher is one client's blocking read of the watch key and write of it.
// watchSeq numbers the values written to the watch key.
var watchSeq atomic.Uint64

type watcher struct {
	get func(ctx context.Context, index uint64) (uint64, error)
	put func(ctx context.Context) error
}

func newWatcher(e *env, client string) watcher {
	// Consul skips a write of the same value, so each write is a new one.
	next := func() []byte { return strconv.AppendUint(make([]byte, 0, 20), watchSeq.Add(1), 10) }
	switch client {
	case "ours":
		return watcher{
			get: func(ctx context.Context, index uint64) (uint64, error) {
				_, m, err := e.ours.KV.Get(ctx, fixture.WatchKey, consul.WaitIndex(index), consul.WaitTime(time.Minute))
				if err != nil {
					return 0, err
				}
				return m.Index, nil
			},
			put: func(ctx context.Context) error { return e.ours.KV.Put(ctx, fixture.WatchKey, next()) },
		}
	case "official":
		return watcher{
			get: func(ctx context.Context, index uint64) (uint64, error) {
				_, m, err := e.official.KV().Get(fixture.WatchKey, (&api.QueryOptions{WaitIndex: index, WaitTime: time.Minute}).WithContext(ctx))
				if err != nil {
					return 0, err
				}
				return m.LastIndex, nil
			},
			put: func(ctx context.Context) error {
				_, err := e.official.KV().Put(&api.KVPair{Key: fixture.WatchKey, Value: next()}, (&api.WriteOptions{}).WithContext(ctx))
				return err
			},
		}
	}
	return watcher{
		get: func(ctx context.Context, index uint64) (uint64, error) {
			return e.floorIndex(ctx, "/v1/kv/"+fixture.WatchKey+"?index="+strconv.FormatUint(index, 10)+"&wait=1m")
		},
		put: func(ctx context.Context) error {
			return e.floorDo(ctx, http.MethodPut, "/v1/kv/"+fixture.WatchKey, next())
		},
	}
}

// benchWatch measures the time from the start of a KV write to a blocking
// reader of the key seeing the new index: one op is one write and one
// wake-up of the watcher, which then blocks again.
func benchWatch(b *testing.B, e *env, client string) {
	w := newWatcher(e, client)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	idx, err := w.get(ctx, 0)
	if err != nil {
		b.Fatal(err)
	}
	seen := make(chan uint64, 1)
	done := make(chan error, 1)
	go func() {
		index := idx
		for {
			n, err := w.get(ctx, index)
			if err != nil {
				if ctx.Err() != nil {
					err = nil
				}
				done <- err
				return
			}
			if n > index {
				index = n
				seen <- n
			}
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := w.put(ctx); err != nil {
			b.Fatal(err)
		}
		select {
		case <-seen:
		case err := <-done:
			b.Fatal(err)
		case <-time.After(30 * time.Second):
			b.Fatal("the watcher did not see the write")
		}
	}
	b.StopTimer()
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		b.Fatal(err)
	}
}
