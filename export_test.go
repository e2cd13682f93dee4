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

// ReservedRoutesForTest returns the routes that buildPath keeps path
// parameters from reaching, as Consul's route lists write them: the parent
// and the name, with a trailing '/' for a subtree route.
func ReservedRoutesForTest() []string {
	var out []string
	for parent, rs := range reservedRoutes {
		for _, r := range rs {
			route := parent + r.name
			if r.subtree {
				route += "/"
			}
			out = append(out, route)
		}
	}
	return out
}
