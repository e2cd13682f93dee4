package consul

import (
	"errors"
	"math/rand/v2"
	"time"
)

// check refuses a backoff that cannot work.
func (b Backoff) check(arg string) error {
	switch {
	case b.Min <= 0:
		return argError(arg+".Min", "must be positive, got %s", b.Min)
	case b.Max < b.Min:
		return argError(arg+".Max", "%s is below Min %s", b.Max, b.Min)
	}
	return nil
}

// Delay is the wait after the n-th failure in a row (n >= 1) that ended
// with err: Min doubled n-1 times, capped at Max, then jittered into
// [d/2, d] so that many clients failing together do not come back together.
// A Retry-After that err carries (a 429 or 503 answer) is waited instead
// when it is longer, but never beyond Max: a server asking for an hour
// cannot silence a loop configured to come back within a minute.
//
// It is the one backoff of the library: the pipeline's retries, Watch and
// the caches, and the concurrency package's loops all wait by it. A zero
// Backoff waits nothing.
func (b Backoff) Delay(n int, err error) time.Duration {
	d := b.Min
	for i := 1; i < n && d < b.Max; i++ {
		if d > b.Max/2 {
			d = b.Max // doubling would pass Max, or overflow
			break
		}
		d *= 2
	}
	d = min(d, b.Max)
	if half := int64(d / 2); half > 0 {
		d = time.Duration(half + rand.Int64N(half+1))
	}
	var se *StatusError
	if errors.As(err, &se) && se.RetryAfter > d {
		d = min(se.RetryAfter, b.Max)
	}
	return d
}
