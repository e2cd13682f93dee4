package consul

import (
	"context"
	"iter"
	"log/slog"
	"reflect"
	"sync"
	"time"
)

// BlockingRead is any blocking read of this library with its arguments
// bound: a function of a context and Options returning a value and its
// Meta. Reads without arguments are BlockingReads as they are
// (client.Catalog.ListServices, client.Session.List); bind the argument of the
// others with Bind (consul.Bind(client.KV.List, "app/")).
type BlockingRead[T any] func(ctx context.Context, opts ...Option) (T, *Meta, error)

// Bind binds the argument, and any Options, of a one-argument read such as
// client.KV.Get, client.KV.List or client.Health.ListServiceInstances, making a
// BlockingRead for Watch, NewWatchGroup and NewCache:
//
//	consul.Bind(client.Health.ListServiceInstances, "web", consul.Passing())
//
// The options given here come before the watch's own (WaitIndex, WaitTime).
func Bind[A, T any](read func(context.Context, A, ...Option) (T, *Meta, error), arg A, opts ...Option) BlockingRead[T] {
	return func(ctx context.Context, more ...Option) (T, *Meta, error) {
		if len(opts) == 0 {
			return read(ctx, arg, more...)
		}
		all := make([]Option, 0, len(opts)+len(more))
		all = append(append(all, opts...), more...)
		return read(ctx, arg, all...)
	}
}

// WatchUpdate is one new answer of a watched read: its value and Meta. On
// an error, Value is the zero value and Meta is what the failed answer's
// headers said (nil for a transport error).
type WatchUpdate[T any] struct {
	Value T
	Meta  *Meta
}

// WatchOption tunes Watch, a WatchGroup and the caches.
type WatchOption func(*watchConfig)

// Defaults of the watch loop.
const (
	// DefaultWatchWait is the wait sent with each blocking request.
	DefaultWatchWait = 5 * time.Minute
	// DefaultWatchMinInterval is the least time between the starts of two
	// requests of one watch.
	DefaultWatchMinInterval = 100 * time.Millisecond
	// DefaultWatchPollInterval is the time between two reads of a route
	// that cannot block (its answer has neither an index nor a content
	// hash): the watch polls it.
	DefaultWatchPollInterval = time.Second
	// DefaultWatchBackoffMin and DefaultWatchBackoffMax bound the delay
	// after a failed request; it doubles with each failure in a row.
	DefaultWatchBackoffMin = 500 * time.Millisecond
	DefaultWatchBackoffMax = time.Minute
)

type watchConfig struct {
	wait         time.Duration
	minInterval  time.Duration
	pollInterval time.Duration
	backoffMin   time.Duration
	backoffMax   time.Duration
	equal        func(a, b any) bool
	equalType    reflect.Type // the T of WatchEqual, nil for WatchDistinct
	readOpts     []Option
	logger       *slog.Logger
	// onSuccess, if set, is called after every request that succeeded,
	// whether or not its answer is yielded: the hub of a cache clears its
	// error there.
	onSuccess func()
}

func newWatchConfig(opts []WatchOption) watchConfig {
	c := watchConfig{
		wait:         DefaultWatchWait,
		minInterval:  DefaultWatchMinInterval,
		pollInterval: DefaultWatchPollInterval,
		backoffMin:   DefaultWatchBackoffMin,
		backoffMax:   DefaultWatchBackoffMax,
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.wait <= 0 {
		c.wait = DefaultWatchWait
	}
	if c.wait > maxWait {
		c.wait = maxWait
	}
	if c.minInterval < 0 {
		c.minInterval = 0
	}
	if c.pollInterval <= 0 {
		// With no minimum interval either, a route that cannot block
		// would be read in a loop as fast as the agent answers.
		c.pollInterval = DefaultWatchPollInterval
	}
	if c.backoffMin <= 0 {
		c.backoffMin = time.Millisecond
	}
	if c.backoffMax < c.backoffMin {
		c.backoffMax = c.backoffMin
	}
	return c
}

// WatchWait sets the wait of each blocking request (?wait=); Consul caps it
// at 10 minutes. The default is DefaultWatchWait. A shorter wait answers
// more often with nothing new, which costs requests but notices a silently
// dead connection sooner.
func WatchWait(d time.Duration) WatchOption { return func(c *watchConfig) { c.wait = d } }

// WatchMinInterval sets the least time between the starts of two requests
// of a watch (default DefaultWatchMinInterval), which bounds the load a
// fast-changing result puts on Consul. Zero disables it; a blocking read
// answered early (before half its wait) with nothing new is still followed
// by a backoff (WatchBackoff), so that a watch never spins.
func WatchMinInterval(d time.Duration) WatchOption {
	return func(c *watchConfig) { c.minInterval = d }
}

// WatchPollInterval sets the time between two reads of a route that cannot
// block (DefaultWatchPollInterval); it is never shorter than the minimum
// interval. A value that is not positive means DefaultWatchPollInterval.
func WatchPollInterval(d time.Duration) WatchOption {
	return func(c *watchConfig) { c.pollInterval = d }
}

// WatchBackoff sets the delay after a failed request: min after the first
// failure, doubling with each failure in a row up to max, each delay then
// jittered down by up to a half. A 429 or 503 answer's Retry-After is
// waited when it is longer, up to max and never beyond. The defaults are
// DefaultWatchBackoffMin and DefaultWatchBackoffMax.
func WatchBackoff(min, max time.Duration) WatchOption {
	return func(c *watchConfig) { c.backoffMin, c.backoffMax = min, max }
}

// WatchDistinct drops answers whose value is reflect.DeepEqual to the
// previous answer's (an index can move without the result changing, e.g.
// after an idempotent write or for a read covering a whole table). The
// first answer is always yielded, even when it is the zero value (a key
// that does not exist yet).
func WatchDistinct() WatchOption {
	return func(c *watchConfig) { c.equal, c.equalType = reflect.DeepEqual, nil }
}

// WatchEqual drops answers that equal reports equal to the previous
// answer's value; the first answer is always yielded. T must be the type
// the watch yields: a Watch, WatchGroup or Cache given a WatchEqual of
// another type yields one *ArgumentError and ends, before sending anything.
func WatchEqual[T any](equal func(a, b T) bool) WatchOption {
	return func(c *watchConfig) {
		c.equalType = reflect.TypeFor[T]()
		c.equal = func(a, b any) bool {
			x, _ := a.(T) // a nil interface value is T's zero value
			y, _ := b.(T)
			return equal(x, y)
		}
	}
}

// WatchLogger sends the watch's errors and backoffs (Warn) and the
// permanent error that ends it (Error) to l; nil means silent, the
// default. Pass client.Logger() to log where the client does. The caches
// built from a client (NewKVCache, NewHealthCache) use its logger unless
// this option says otherwise.
func WatchLogger(l *slog.Logger) WatchOption {
	return func(c *watchConfig) { c.logger = l }
}

// check refuses a configuration that cannot watch a T.
func (c *watchConfig) check(t reflect.Type) error {
	if c.equalType != nil && c.equalType != t {
		return argError("WatchEqual", "compares %s, but the watch yields %s", c.equalType, t)
	}
	return nil
}

// WatchRequestOptions adds Options to every request of the watch, e.g.
// consul.WatchRequestOptions(consul.Stale()) for a read without arguments.
func WatchRequestOptions(opts ...Option) WatchOption {
	return func(c *watchConfig) { c.readOpts = append(c.readOpts, opts...) }
}

// Watch runs a blocking read in a loop and yields each new answer, until
// ctx ends or the caller breaks out of the loop:
//
//	for u, err := range consul.Watch(ctx, consul.Bind(client.KV.List, "app/")) {
//		if err != nil {
//			log.Print(err) // the watch goes on after backing off
//			continue
//		}
//		apply(u.Value)
//	}
//
// The first answer is always yielded; after it, an answer is yielded only
// when its index (or, for the agent's hash-based endpoints, its
// X-Consul-ContentHash) differs from the previous answer's: a request that
// timed out with nothing new yields nothing. With WatchDistinct or
// WatchEqual, answers whose value did not change are dropped too. Blocking
// reads see states, not every write: writes that land between two requests
// are seen together, as the latest value.
//
// A read that can block (its answers carry an index, or a content hash for
// the agent's hash-based endpoints) is watched with blocking requests. A
// read whose answer has neither (Status.Leader, Agent.Self, the agent's
// service endpoint for a service it does not have yet) is polled with
// plain reads every WatchPollInterval (1s), and an answer is yielded when
// its value changed (by WatchEqual, else reflect.DeepEqual); an index of 0
// is never sent.
//
// It follows Consul's rules for blocking queries: the index sent is the
// last answer's; an index that goes backwards is reset to 0 (a new
// non-blocking read); an answer without an index is polled; requests
// start at least WatchMinInterval apart; each blocking request is bounded
// by the client's rule for blocking reads (wait + wait/16 + 5s) so that a
// dead connection is noticed, and the first, which does not block, by
// Config.Timeout.
//
// After a failed request, the next is a plain (non-blocking) read, so
// that the recovery is seen at once; blocking resumes from its answer.
//
// Errors are yielded with a zero Value and the loop goes on after a
// backoff (WatchBackoff; the Retry-After of a 429 or 503 answer is waited
// up to the backoff's maximum)
// unless the error is permanent (IsPermanent: a 4xx other than 429, or an
// ArgumentError): the loop ends after yielding it. When ctx ends the loop
// ends without yielding ctx's error. Watch starts no goroutine: the loop
// runs in the ranging goroutine.
func Watch[T any](ctx context.Context, read BlockingRead[T], opts ...WatchOption) iter.Seq2[WatchUpdate[T], error] {
	cfg := newWatchConfig(opts)
	return func(yield func(WatchUpdate[T], error) bool) {
		watchLoop(ctx, read, &cfg, yield)
	}
}

func watchLoop[T any](ctx context.Context, read BlockingRead[T], cfg *watchConfig, yield func(WatchUpdate[T], error) bool) {
	if read == nil {
		yield(WatchUpdate[T]{}, argError("read", "nil"))
		return
	}
	if err := cfg.check(reflect.TypeFor[T]()); err != nil {
		yield(WatchUpdate[T]{}, err)
		return
	}
	var (
		first     = true
		index     uint64 // index to send; 0 sends none
		lastIndex uint64 // index of the last answer
		hash      string // content hash to send, for hash-based endpoints
		last      T
		failures  int
		idle      int // blocking reads in a row answered early with nothing new
		lastStart time.Time
		delay     time.Duration
		timer     *time.Timer
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	ropts := make([]Option, 0, len(cfg.readOpts)+2)
	for {
		if d := time.Until(lastStart.Add(cfg.minInterval)); d > delay {
			delay = d
		}
		if delay > 0 {
			if timer == nil {
				timer = time.NewTimer(delay)
			} else {
				timer.Reset(delay)
			}
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			delay = 0
		}
		if ctx.Err() != nil {
			return
		}

		ropts = append(ropts[:0], cfg.readOpts...)
		blocking := false
		switch {
		case failures > 0:
			// After a failure, a plain read: it answers at once, so that
			// the recovery is seen now rather than when the data changes
			// (a blocking read on the old index could wait minutes).
		case hash != "":
			ropts = append(ropts, WaitHash(hash), WaitTime(cfg.wait))
			blocking = true
		case index > 0:
			ropts = append(ropts, WaitIndex(index), WaitTime(cfg.wait))
			blocking = true
		}
		lastStart = time.Now()
		// The pipeline bounds the request: a blocking read by wait +
		// wait/16 + its margin, the first by Config.Timeout.
		v, meta, err := read(ctx, ropts...)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failures++
			permanent := IsPermanent(err)
			if !permanent {
				delay = watchBackoff(cfg, failures, err)
			}
			if cfg.logger != nil {
				if permanent {
					cfg.logger.LogAttrs(ctx, slog.LevelError, "consul: watch ended by a permanent error", slog.String("error", err.Error()))
				} else {
					cfg.logger.LogAttrs(ctx, slog.LevelWarn, "consul: watch request failed, backing off",
						slog.String("error", err.Error()), slog.Int("failures", failures), slog.Duration("delay", delay))
				}
			}
			if !yield(WatchUpdate[T]{Meta: meta}, err) || permanent {
				return
			}
			continue
		}
		failures = 0
		if meta == nil {
			meta = &Meta{}
		}
		if cfg.onSuccess != nil {
			cfg.onSuccess()
		}

		changed := first
		switch {
		case meta.ContentHash != "" && meta.Index == 0:
			// Hash-based blocking (the agent's local endpoints).
			changed = changed || meta.ContentHash != hash
			hash, index = meta.ContentHash, 0
		case meta.Index == 0:
			// Neither an index nor a content hash: the route cannot
			// block, or not on this answer (the agent's service endpoint
			// for a service it does not have). Poll it with plain reads,
			// never sending an index of 0, and yield a value that changed.
			if !first {
				changed = !watchSame(cfg, last, v)
			}
			hash, index, lastIndex = "", 0, 0
			delay = cfg.pollInterval
		default:
			hash = ""
			switch {
			case meta.Index < lastIndex:
				// The index went backwards (a snapshot restore, another
				// server, a table reset): start over with a plain read.
				changed, index = true, 0
			case meta.Index > lastIndex:
				changed, index = true, meta.Index
			default:
				index = meta.Index
				if !first {
					// The same index may come from another state (an
					// agent restarted with a wiped data directory replays
					// the same first writes, between two reads or after
					// a failure): compare. Most such answers are a wait
					// that timed out, once per wait.
					changed = !watchSame(cfg, last, v)
				}
			}
			lastIndex = meta.Index
		}
		if blocking && !changed && time.Since(lastStart) < cfg.wait/2 {
			// A blocking read that came back early with nothing new: Consul
			// may wake one spuriously, a proxy or a hostile server may
			// answer every one at once. Back off, as after a failure, so
			// that the loop never spins, even with no minimum interval.
			idle++
			delay = max(delay, watchBackoff(cfg, idle, nil))
		} else {
			idle = 0
		}
		if changed && !first && cfg.equal != nil && cfg.equal(any(last), any(v)) {
			changed = false
		}
		first = false
		last = v
		if changed && !yield(WatchUpdate[T]{Value: v, Meta: meta}, nil) {
			return
		}
	}
}

// watchSame reports whether two answers of a polled read hold the same
// value: by the watch's WatchEqual, else reflect.DeepEqual.
func watchSame[T any](cfg *watchConfig, a, b T) bool {
	if cfg.equal != nil {
		return cfg.equal(any(a), any(b))
	}
	return reflect.DeepEqual(a, b)
}

// watchBackoff is the delay after the n-th failure in a row.
func watchBackoff(cfg *watchConfig, n int, err error) time.Duration {
	return Backoff{Min: cfg.backoffMin, Max: cfg.backoffMax}.Delay(n, err)
}

// watchHub runs one watch loop and fans its answers out to any number of
// subscribers. Subscribers see the latest state: one that is slow to pull
// skips the states it missed, so the hub holds one value however many
// subscribers it has.
type watchHub[T any] struct {
	mu     sync.Mutex
	cur    WatchUpdate[T]
	curVer uint64 // 0 until the first value
	err    error  // the last error, nil after a value
	errVer uint64
	ended  bool  // the loop ended
	endErr error // the permanent error that ended it, if any
	notify chan struct{}
	ready  chan struct{} // closed at the first value or at the end
	done   chan struct{} // closed when the loop's goroutine exits
}

func newWatchHub[T any]() *watchHub[T] {
	return &watchHub[T]{
		notify: make(chan struct{}),
		ready:  make(chan struct{}),
		done:   make(chan struct{}),
	}
}

// run is the hub's loop; it returns when ctx ends or on a permanent error.
func (h *watchHub[T]) run(ctx context.Context, read BlockingRead[T], shared *watchConfig) {
	defer close(h.done)
	cfg := *shared
	cfg.onSuccess = func() {
		// An answer, changed or not: the error is over (Cache.Err).
		h.mu.Lock()
		h.err = nil
		h.mu.Unlock()
	}
	watchLoop(ctx, read, &cfg, func(u WatchUpdate[T], err error) bool {
		h.mu.Lock()
		if err != nil {
			h.err = err
			h.errVer++
			if IsPermanent(err) {
				h.endErr = err
			}
		} else {
			if h.curVer == 0 {
				close(h.ready)
			}
			h.cur, h.err = u, nil
			h.curVer++
		}
		close(h.notify)
		h.notify = make(chan struct{})
		h.mu.Unlock()
		return true
	})
	h.mu.Lock()
	h.ended = true
	if h.curVer == 0 {
		close(h.ready)
	}
	close(h.notify)
	h.notify = make(chan struct{})
	h.mu.Unlock()
}

// subscribe yields the hub's current value at once, if it has one, then
// every later value and error, until ctx ends, yield returns false or the
// loop ends.
func (h *watchHub[T]) subscribe(ctx context.Context, yield func(WatchUpdate[T], error) bool) {
	h.mu.Lock()
	var seenVer, seenErr uint64
	if h.curVer > 0 || h.err == nil {
		// A late subscriber starts from the current value; errors older
		// than it are not replayed.
		seenErr = h.errVer
	} else {
		// No value yet: show the current error at once.
		seenErr = h.errVer - 1
	}
	h.mu.Unlock()
	for ctx.Err() == nil {
		h.mu.Lock()
		cur, curVer := h.cur, h.curVer
		err, errVer := h.err, h.errVer
		ended, ch := h.ended, h.notify
		h.mu.Unlock()
		if errVer > seenErr {
			seenErr = errVer
			if err != nil && !yield(WatchUpdate[T]{}, err) {
				return
			}
		}
		if curVer > seenVer {
			seenVer = curVer
			if !yield(cur, nil) {
				return
			}
		}
		if ended {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

// WatchGroup shares watches among the watchers of one process: all watchers
// of the same key share one loop, hence one blocking request to the agent
// at a time. Its read function makes the read of a key, so that every
// watcher of a key watches the same query, with the group's options; the
// key's type says what a key is (a service name, a KV prefix, a struct of
// a query's arguments), and T what the watch yields: a mismatch is a
// compile error.
//
//	group := consul.NewWatchGroup(func(service string) consul.BlockingRead[[]*consul.ServiceEntry] {
//		return consul.Bind(client.Health.ListServiceInstances, service, consul.Passing())
//	})
//	for u, err := range group.Watch(ctx, "web") { ... }
//
// A key's loop starts with its first watcher and stops when its last one
// leaves; late watchers get the current value at once. The loop runs in a
// goroutine of its own, on a context of its own: it does not carry the
// values of any watcher's ctx. Its methods are safe for concurrent use.
type WatchGroup[K comparable, T any] struct {
	read func(K) BlockingRead[T]
	cfg  watchConfig

	mu sync.Mutex
	m  map[K]*watchGroupEntry[T]
}

type watchGroupEntry[T any] struct {
	hub    *watchHub[T]
	subs   int
	cancel context.CancelFunc
}

// NewWatchGroup returns a group whose watchers of a key share the watch of
// read(key), with opts.
func NewWatchGroup[K comparable, T any](read func(K) BlockingRead[T], opts ...WatchOption) *WatchGroup[K, T] {
	return &WatchGroup[K, T]{read: read, cfg: newWatchConfig(opts), m: make(map[K]*watchGroupEntry[T])}
}

// Watch is Watch shared through the group: it yields the key's current
// value at once if its loop has one, then each new one, until ctx ends or
// the caller breaks out. Watchers see the latest state: one slow to pull
// skips intermediate values, and errors older than a late watcher's first
// value are not replayed to it. A permanent error ends the loop for all
// its watchers, after yielding it to each; the next watcher of the key
// starts a new loop.
func (g *WatchGroup[K, T]) Watch(ctx context.Context, key K) iter.Seq2[WatchUpdate[T], error] {
	return func(yield func(WatchUpdate[T], error) bool) {
		if g == nil || g.read == nil {
			yield(WatchUpdate[T]{}, argError("WatchGroup", "nil or zero value (make one with NewWatchGroup)"))
			return
		}
		g.mu.Lock()
		e := g.m[key]
		if e == nil {
			h := newWatchHub[T]()
			lctx, cancel := context.WithCancel(context.Background())
			e = &watchGroupEntry[T]{hub: h, cancel: cancel}
			g.m[key] = e
			read := g.read(key)
			go func() {
				h.run(lctx, read, &g.cfg)
				g.mu.Lock()
				if g.m[key] == e {
					delete(g.m, key)
				}
				g.mu.Unlock()
			}()
		}
		e.subs++
		g.mu.Unlock()
		defer func() {
			g.mu.Lock()
			e.subs--
			if e.subs == 0 {
				e.cancel()
				if g.m[key] == e {
					delete(g.m, key)
				}
			}
			g.mu.Unlock()
		}()
		e.hub.subscribe(ctx, yield)
	}
}

// Len returns the number of loops running in the group.
func (g *WatchGroup[K, T]) Len() int {
	if g == nil {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.m)
}
