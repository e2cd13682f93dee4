package bench

import (
	"context"
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
