package consul

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// sharedDeadline bounds the calls that carry no context of their own
// (context.Background or TODO, so no values and no cancellation) by their
// timeout without a timer, a context and a done channel per call: the
// calls of the same timeout that start within the same slice of time, a
// 64th of the timeout, share one context that ends a timeout plus a slice
// after the slice began. Each call is so given at least its timeout and
// at most 1/64 more. A call of another timeout starts a new slice.
type sharedDeadline struct {
	cur atomic.Pointer[deadlineSlice]
	mu  sync.Mutex // held while a slice is made
}

// deadlineSlice is the context of the calls that start before until.
type deadlineSlice struct {
	ctx     context.Context
	cancel  context.CancelFunc // not called: the context's own timer ends it
	timeout time.Duration
	until   time.Time
}

// context returns the shared context of a call starting now.
func (d *sharedDeadline) context(timeout time.Duration) context.Context {
	now := time.Now()
	if s := d.cur.Load(); s != nil && s.timeout == timeout && now.Before(s.until) {
		return s.ctx
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if s := d.cur.Load(); s != nil && s.timeout == timeout && now.Before(s.until) {
		return s.ctx
	}
	slice := max(timeout/64, time.Microsecond)
	s := &deadlineSlice{timeout: timeout, until: now.Add(slice)}
	s.ctx, s.cancel = context.WithDeadline(context.Background(), now.Add(timeout+slice))
	d.cur.Store(s)
	return s.ctx
}
