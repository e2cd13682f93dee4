package consul

import "time"

// SetBlockingMarginForTest shortens the margin added to a blocking read's
// timeout, so that tests of a hanging server run fast. It returns a func
// that restores the old margin.
func SetBlockingMarginForTest(d time.Duration) func() {
	old := blockingMargin
	blockingMargin = d
	return func() { blockingMargin = old }
}
