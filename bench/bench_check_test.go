package bench

import (
	"context"
	"fmt"
	"github.com/goconsul/consul/bench/internal/fixture"
	"github.com/goconsul/consul/bench/internal/replay"
	"testing"
	"time"
)

// TestReplayAnswers checks that every client does the whole work against
// the replay server: the same counts of keys, instances, services...
func TestReplayAnswers(t *testing.T) { checkAll(t, replayTarget(t)) }

// TestAgentAnswers does the same against a real agent.
func TestAgentAnswers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an agent")
	}
	checkAll(t, agentTarget(t))
}

func checkAll(t *testing.T, e *env) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, o := range ops {
		for _, c := range clients {
			f := o.fn(c)
			if f == nil {
				t.Logf("%s: no %s client yet", o.name, c)
				continue
			}
			n, err := f(ctx, e)
			if err != nil {
				t.Errorf("%s/%s: %v", o.name, c, err)
				continue
			}
			if n != o.want {
				t.Errorf("%s/%s: read %d, want %d", o.name, c, n, o.want)
			}
		}
	}
	for _, c := range clients {
		w := newWatcher(e, c)
		idx, err := w.get(ctx, 0)
		if err != nil {
			t.Fatalf("watch/%s: %v", c, err)
		}
		got := make(chan uint64, 1)
		go func() {
			n, err := w.get(ctx, idx)
			if err != nil {
				t.Errorf("watch/%s: %v", c, err)
			}
			got <- n
		}()
		time.Sleep(50 * time.Millisecond)
		if err := w.put(ctx); err != nil {
			t.Fatalf("watch/%s: put: %v", c, err)
		}
		if n := <-got; n <= idx {
			t.Errorf("watch/%s: index %d after the write, want above %d", c, n, idx)
		}
	}
}

// TestConnectionReuse checks that each client sends all its requests over
// one connection: every answer is read to its end (or drained) and closed.
func TestConnectionReuse(t *testing.T) {
	rec, err := replay.Load("testdata")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range clients {
		srv := replay.NewServer(rec)
		e, err := newEnv(srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range ops {
			for i := 0; i < 5; i++ {
				if _, err := o.fn(c)(ctx, e); err != nil {
					t.Fatalf("%s/%s: %v", o.name, c, err)
				}
			}
		}
		if n := srv.Conns(); n != 1 {
			t.Errorf("%s: %d connections for %d sequential requests, want 1", c, n, 5*len(ops))
		}
		srv.Close()
	}
}

// TestOursConcurrent runs every operation of this library from several
// goroutines at once on one client (go test -race): the pipeline's reused
// buffers and decoder state must not be shared between calls.
func TestOursConcurrent(t *testing.T) {
	e := replayTarget(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 10; i++ {
				for _, o := range ops {
					n, err := o.ours(ctx, e)
					if err == nil && n != o.want {
						err = fmt.Errorf("%s: read %d, want %d", o.name, n, o.want)
					}
					if err != nil {
						errs <- err
						return
					}
				}
				ps, _, err := e.ours.KV.List(ctx, fixture.ListPrefix)
				if err != nil {
					errs <- err
					return
				}
				for j, p := range ps {
					if p.Key != fixture.ListKey(j) || string(p.Value) != string(fixture.ListValue(j)) {
						errs <- fmt.Errorf("pair %d: %q=%q", j, p.Key, p.Value)
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
