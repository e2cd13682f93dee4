package consul

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Consistency selects how a read is served. The zero value is
// ConsistencyDefault. See Consul's "consistency modes" documentation.
type Consistency uint8

const (
	// ConsistencyDefault lets the leader answer without a quorum check; it
	// sends no parameter. It is the zero value.
	ConsistencyDefault Consistency = iota
	// ConsistencyStale lets any server answer, even without a leader.
	ConsistencyStale
	// ConsistencyConsistent makes the leader confirm its leadership with a
	// quorum before answering.
	ConsistencyConsistent
	// ConsistencyLeader forces the default mode even where the agent is
	// configured with discovery_max_stale (?leader).
	ConsistencyLeader
	consistencyEnd
)

// String returns "default", "stale", "consistent" or "leader".
func (c Consistency) String() string {
	switch c {
	case ConsistencyDefault:
		return "default"
	case ConsistencyStale:
		return "stale"
	case ConsistencyConsistent:
		return "consistent"
	case ConsistencyLeader:
		return "leader"
	}
	return "Consistency(" + strconv.Itoa(int(c)) + ")"
}

// ParseConsistency parses "default" (or ""), "stale", "consistent" and "leader".
func ParseConsistency(s string) (Consistency, error) {
	switch s {
	case "", "default":
		return ConsistencyDefault, nil
	case "stale":
		return ConsistencyStale, nil
	case "consistent":
		return ConsistencyConsistent, nil
	case "leader":
		return ConsistencyLeader, nil
	}
	return 0, argError("consistency", "unknown mode %q", s)
}

func (c Consistency) valid() bool { return c < consistencyEnd }

// Meta is what Consul's response headers say about a read.
type Meta struct {
	// Index is X-Consul-Index: pass it to WaitIndex for a blocking read.
	Index uint64
	// KnownLeader is X-Consul-KnownLeader.
	KnownLeader bool
	// LastContact is X-Consul-LastContact: how long ago the answering server
	// last heard from the leader.
	LastContact time.Duration
	// ContentHash is X-Consul-ContentHash, set by hash-based blocking
	// endpoints of the agent; pass it to WaitHash.
	ContentHash string
	// EffectiveConsistency is X-Consul-Effective-Consistency.
	EffectiveConsistency string
	// CacheHit is true when X-Cache is HIT; CacheAge is the Age header.
	CacheHit bool
	CacheAge time.Duration
	// DefaultACLPolicy is X-Consul-Default-ACL-Policy ("allow" or "deny").
	DefaultACLPolicy string
	// ResultsFilteredByACLs is X-Consul-Results-Filtered-By-ACLs.
	ResultsFilteredByACLs bool
	// QueryBackend is X-Consul-Query-Backend ("blocking-query" or "streaming").
	QueryBackend string
	// RequestTime is the round trip of the request, headers included.
	RequestTime time.Duration
}

// duration is a time.Duration on the wire: it reads Consul's "15s" strings
// and plain numbers of nanoseconds, and writes the string form.
type duration time.Duration

func (d duration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Duration(d).String() + `"`), nil
}

func (d *duration) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*d = 0
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			*d = 0
			return nil
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("consul: bad duration %q: %w", s, err)
		}
		*d = duration(v)
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("consul: bad duration %s: %w", b, err)
	}
	*d = duration(n)
	return nil
}
