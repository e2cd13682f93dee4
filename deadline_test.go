package consul

import (
	"context"
	"sync"
	"testing"
	"time"
)

// A shared deadline gives every call at least its timeout and at most a
// 64th more, is shared only by calls of the same timeout that start in the
// same slice, and costs nothing once its slice exists.
func TestSharedDeadlineBounds(t *testing.T) {
	var d sharedDeadline
	const timeout = 640 * time.Millisecond
	// The call reads the clock somewhere between start and end: its
	// deadline is at least the timeout after start, at most the timeout
	// and a slice after end, whatever preempts the test in between.
	start := time.Now()
	ctx := d.context(timeout)
	end := time.Now()
	dl, ok := ctx.Deadline()
	if !ok {
		t.Fatal("the shared context has no deadline")
	}
	if got := dl.Sub(start); got < timeout {
		t.Fatalf("deadline %s after the start, want at least %s", got, timeout)
	}
	if got := dl.Sub(end); got > timeout+timeout/64 {
		t.Fatalf("deadline %s after the call returned, want at most %s", got, timeout+timeout/64)
	}
	// A second call in the same slice (10ms) shares the context. A loaded
	// machine may preempt the test between the two calls for longer than
	// the slice: the pair is tried again until both fell within one.
	for attempt := 0; ; attempt++ {
		var d2 sharedDeadline
		s0 := time.Now()
		a := d2.context(timeout)
		b := d2.context(timeout)
		if time.Since(s0) < timeout/64 {
			if a != b {
				t.Fatal("a call of the same timeout in the same slice got another context")
			}
			break
		}
		if attempt == 100 {
			t.Fatalf("no two calls within %s in 100 attempts", timeout/64)
		}
	}
	other := d.context(time.Second)
	if other == ctx {
		t.Fatal("a call of another timeout shared the context")
	}
	if dl, _ := other.Deadline(); dl.Sub(start) < time.Second {
		t.Fatalf("the other timeout's deadline is %s after the start", dl.Sub(start))
	}

	// Calls after the slice get a later deadline, still at least their
	// timeout away.
	time.Sleep(timeout/64 + 5*time.Millisecond)
	now := time.Now()
	late := d.context(timeout)
	if late == ctx {
		t.Fatal("a call after the slice shared the earlier context")
	}
	if dl, _ := late.Deadline(); dl.Sub(now) < timeout {
		t.Fatalf("deadline %s after the call, want at least %s", dl.Sub(now), timeout)
	}

	// The shared context ends by itself at its deadline.
	select {
	case <-ctx.Done():
		if ctx.Err() != context.DeadlineExceeded {
			t.Fatalf("ended with %v", ctx.Err())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the shared context did not end")
	}

	var long sharedDeadline
	long.context(time.Hour)
	if n := testing.AllocsPerRun(100, func() { long.context(time.Hour) }); n != 0 {
		t.Fatalf("%v allocations per call within a slice", n)
	}
}

// Many goroutines asking at once all get a context whose deadline is at
// least the timeout away from their own start.
func TestSharedDeadlineConcurrent(t *testing.T) {
	var d sharedDeadline
	const timeout = 64 * time.Millisecond
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				now := time.Now()
				dl, _ := d.context(timeout).Deadline()
				if dl.Sub(now) < timeout {
					errs <- dl.Sub(now).String()
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("a call got a deadline %s away, under its timeout %s", e, timeout)
	}
}

// The pool of calls that do not block has no header timer of its own
// when Config.Timeout bounds its calls tighter; with Config.Timeout off or
// longer it keeps one. The pool of blocking reads and streams always does.
func TestShortPoolHeaderTimeout(t *testing.T) {
	for _, tc := range []struct {
		timeout time.Duration
		want    time.Duration
	}{
		{0, 0},
		{time.Second, 0},
		{-1, responseHeaderTimeout},
		{time.Hour, responseHeaderTimeout},
	} {
		c, err := NewClient(Config{Address: "127.0.0.1:1", Timeout: tc.timeout})
		if err != nil {
			t.Fatal(err)
		}
		short := c.hc.Transport.(*localTransport).next
		long := c.hcLong.Transport.(*localTransport).next
		if got := c.hc.Transport.(*localTransport).headerTimeout; got != tc.want {
			t.Errorf("Timeout %s: local short pool header timeout %s, want %s", tc.timeout, got, tc.want)
		}
		if short.ResponseHeaderTimeout != tc.want {
			t.Errorf("Timeout %s: short pool header timeout %s, want %s", tc.timeout, short.ResponseHeaderTimeout, tc.want)
		}
		if long.ResponseHeaderTimeout != responseHeaderTimeout {
			t.Errorf("Timeout %s: long pool header timeout %s", tc.timeout, long.ResponseHeaderTimeout)
		}
	}
}
