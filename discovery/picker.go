package discovery

import (
	"math/rand/v2"
	"strconv"
)

// Picker is how Next chooses among the healthy instances. The zero value
// is RoundRobin.
type Picker uint8

const (
	// RoundRobin takes the instances in turn, in a stable order (by node,
	// then service ID), so that N calls spread evenly over N instances.
	RoundRobin Picker = iota
	// Random takes an instance uniformly at random.
	Random
	// Nearest takes the instance with the lowest estimated round trip
	// time from Query.Near (the answering agent, "_agent", when Near is
	// empty), as Consul's network coordinates sort them: every call goes
	// to the nearest healthy instance, and to the next nearest when it
	// goes away. Instances whose node has no coordinate come last.
	Nearest
	// Weighted takes an instance at random with a probability
	// proportional to its Consul Weights: Weights.Passing for a passing
	// instance, Weights.Warning for one in warning (Consul's default
	// weights are 1 and 1). An instance of weight 0 is taken only when
	// every instance has weight 0.
	Weighted
	pickerEnd
)

// String returns "round-robin", "random", "nearest" or "weighted".
func (p Picker) String() string {
	switch p {
	case RoundRobin:
		return "round-robin"
	case Random:
		return "random"
	case Nearest:
		return "nearest"
	case Weighted:
		return "weighted"
	}
	return "Picker(" + strconv.Itoa(int(p)) + ")"
}

// pick chooses one instance of a non-empty snapshot. rr is the
// round-robin counter of the Instances.
func (p Picker) pick(s *snapshot, rr *counter) *Instance {
	n := len(s.list)
	switch p {
	case Random:
		return s.list[rand.IntN(n)]
	case Nearest:
		return s.list[0]
	case Weighted:
		if s.total == 0 {
			return s.list[rand.IntN(n)]
		}
		r := rand.Uint64N(s.total)
		// The first instance whose cumulative weight is above r.
		lo, hi := 0, n-1
		for lo < hi {
			mid := int(uint(lo+hi) >> 1)
			if s.cum[mid] > r {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		return s.list[lo]
	}
	return s.list[(rr.next())%uint64(n)]
}
