package consul

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// The shared value types of every call: the consistency mode, the Meta of
// a read, the per-call Option and its constructors, and the duration codec
// of the wire. (The discovery types that several endpoints return, Node,
// NodeService, HealthCheck..., are in catalog_types.go.)

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

// --- per-call options ---

// Option adjusts one call: the datacenter it targets, its consistency, its
// token, a blocking index, a filter... Build options with the functions below
// (and the endpoint-specific ones beside their endpoints: MembersWAN,
// KeyringLocalOnly...) and pass them last, e.g.
//
//	pairs, meta, err := client.KV.List(ctx, "app/", consul.Stale(), consul.Datacenter("dc2"))
//
// Every method declares the options that apply to it: those its Consul
// route reads and honours (the method's documentation lists them). Any
// other option is refused with an *ArgumentError naming the option and the
// method, before anything is sent: nothing is silently dropped or sent to a
// route that ignores it. Token and Param apply to every method. The
// client's defaults (Config.Datacenter, Namespace, Partition, Consistency)
// apply where the method takes that option, and are left out elsewhere.
// Options that set one value (Datacenter, Token, a consistency mode...) win
// over the client's defaults and over earlier options of the same kind. An
// Option is a small value: building one allocates nothing.
type Option struct {
	kind   optKind
	s1, s2 string
	n      uint64
	d      time.Duration
}

type optKind uint8

const (
	optNone optKind = iota
	optDatacenter
	optConsistency
	optToken
	optWaitIndex
	optWaitTime
	optWaitHash
	optFilter
	optNear
	optNodeMeta
	optCached
	optMaxAge
	optStaleIfError
	optMaxStale
	optNamespace
	optPartition
	optPeer
	optTag
	optPassing
	optSeparator
	optFlags
	optParam
	// Options of one route each.
	optMonitorJSON
	optCoordinateSegment
	optEventNode
	optEventService
	optEventTag
	optMembersWAN
	optMembersSegment
	optMembersPrune
	optKeyringRelayFactor
	optKeyringLocalOnly
	optUsageGlobal
	optReplaceChecks
	optUtilTodayOnly
	optUtilSendReport
	optUtilMessage
	optKindEnd
)

// optNames name the option kinds in errors, by their constructor.
var optNames = [optKindEnd]string{
	optNone: "the zero Option", optDatacenter: "Datacenter", optConsistency: "WithConsistency (Stale, Consistent)",
	optToken: "Token", optWaitIndex: "WaitIndex", optWaitTime: "WaitTime", optWaitHash: "WaitHash",
	optFilter: "Filter", optNear: "Near", optNodeMeta: "NodeMeta", optCached: "Cached", optMaxAge: "MaxAge",
	optStaleIfError: "StaleIfError", optMaxStale: "MaxStale", optNamespace: "Namespace", optPartition: "Partition",
	optPeer: "Peer", optTag: "Tag", optPassing: "Passing", optSeparator: "Separator", optFlags: "Flags",
	optParam: "Param", optMonitorJSON: "AgentMonitorJSON", optCoordinateSegment: "CoordinateSegment",
	optEventNode: "EventNodeFilter", optEventService: "EventServiceFilter", optEventTag: "EventTagFilter",
	optMembersWAN: "MembersWAN", optMembersSegment: "MembersSegment", optMembersPrune: "MembersPrune",
	optKeyringRelayFactor: "KeyringRelayFactor", optKeyringLocalOnly: "KeyringLocalOnly",
	optUsageGlobal: "UsageGlobal", optReplaceChecks: "ServicesReplaceChecks",
	optUtilTodayOnly: "UtilizationTodayOnly", optUtilSendReport: "UtilizationSendReport", optUtilMessage: "UtilizationMessage",
}

// optSet is a set of option kinds: the options a method declares.
type optSet uint64

func (s optSet) has(k optKind) bool { return s&(1<<k) != 0 }

// The option sets methods declare, built from what Consul's handlers read
// (agent/*_endpoint.go). Token and Param apply to every method and are in
// no set.
const (
	oDC          optSet = 1 << optDatacenter
	oConsistency optSet = 1 << optConsistency
	oBlocking    optSet = 1<<optWaitIndex | 1<<optWaitTime
	oHash        optSet = 1<<optWaitHash | 1<<optWaitTime
	oFilter      optSet = 1 << optFilter
	oNear        optSet = 1 << optNear
	oNodeMeta    optSet = 1 << optNodeMeta
	oCached      optSet = 1 << optCached
	oMaxAge      optSet = 1 << optMaxAge
	oStaleIfErr  optSet = 1 << optStaleIfError
	oMaxStale    optSet = 1 << optMaxStale
	oPartition   optSet = 1 << optPartition
	oEnt         optSet = 1<<optNamespace | 1<<optPartition
	oPeer        optSet = 1 << optPeer
	oTag         optSet = 1 << optTag
	oPassing     optSet = 1 << optPassing
	oSeparator   optSet = 1 << optSeparator
	oFlags       optSet = 1 << optFlags
	oAlways      optSet = 1<<optToken | 1<<optParam

	// oRead is a blocking read of the servers: the datacenter, the
	// consistency modes and the blocking options.
	oRead = oDC | oConsistency | oBlocking
	// oAll is every option, for Client.Do, whose route is the caller's.
	oAll optSet = (1<<optKindEnd - 1) &^ (1 << optNone)
)

// Datacenter targets another datacenter than the agent's own (?dc=).
func Datacenter(dc string) Option { return Option{kind: optDatacenter, s1: dc} }

// WithConsistency sets the consistency mode of a read.
func WithConsistency(c Consistency) Option { return Option{kind: optConsistency, n: uint64(c)} }

// Stale lets any server answer a read (?stale). See ConsistencyStale.
func Stale() Option { return WithConsistency(ConsistencyStale) }

// Consistent makes a read linearizable (?consistent). See ConsistencyConsistent.
func Consistent() Option { return WithConsistency(ConsistencyConsistent) }

// Token sends this ACL token instead of the client's, in the X-Consul-Token
// header. Token("") sends no token at all, even when the client has one:
// the agent then uses its own default token (acl.tokens.default), which
// is often the anonymous token. A token holding a control character, or
// a leading or trailing space (which the agent's HTTP server would strip,
// checking another token), is refused with an *ArgumentError before
// sending, never quoted (a permanent error: a Watch ends on it).
func Token(token string) Option { return Option{kind: optToken, s1: token} }

// WaitIndex makes a read blocking: Consul answers once the result's index
// is above index, or when the wait time runs out (?index=). Pass the Index
// of the previous read's Meta.
func WaitIndex(index uint64) Option { return Option{kind: optWaitIndex, n: index} }

// WaitTime bounds how long a blocking read waits (?wait=); Consul's
// default is 5 minutes and its maximum 10. A negative wait is refused.
func WaitTime(d time.Duration) Option { return Option{kind: optWaitTime, d: d} }

// WaitHash makes a read of the agent's hash-based blocking endpoints wait
// until the content hash differs from hash (?hash=). Pass Meta.ContentHash.
func WaitHash(hash string) Option { return Option{kind: optWaitHash, s1: hash} }

// Filter passes a filter expression (?filter=), e.g. `Meta.env == "prod"`.
func Filter(expr string) Option { return Option{kind: optFilter, s1: expr} }

// Near sorts the result by round trip time from a node (?near=); "_agent"
// means the agent answering.
func Near(node string) Option { return Option{kind: optNear, s1: node} }

// NodeMeta keeps only nodes that have this metadata pair (?node-meta=k:v).
// Repeat it to require several pairs.
func NodeMeta(key, value string) Option { return Option{kind: optNodeMeta, s1: key, s2: value} }

// Cached lets the agent answer from its local cache (?cached); Meta.CacheHit
// and Meta.CacheAge say whether it did. Only some routes support it.
func Cached() Option { return Option{kind: optCached} }

// MaxAge bounds the age of a cached answer (Cache-Control: max-age=); it
// implies Cached. Consul counts whole seconds.
func MaxAge(d time.Duration) Option { return Option{kind: optMaxAge, d: d} }

// StaleIfError lets the agent serve a cached answer this old when the
// servers cannot be reached (Cache-Control: stale-if-error=); it implies
// Cached.
func StaleIfError(d time.Duration) Option { return Option{kind: optStaleIfError, d: d} }

// MaxStale allows a stale answer only if it is at most d behind the leader
// (?max_stale=).
func MaxStale(d time.Duration) Option { return Option{kind: optMaxStale, d: d} }

// Namespace scopes the call to a namespace (?ns=, Consul Enterprise).
func Namespace(ns string) Option { return Option{kind: optNamespace, s1: ns} }

// Partition scopes the call to an admin partition (?partition=, Consul
// Enterprise).
func Partition(p string) Option { return Option{kind: optPartition, s1: p} }

// Peer reads from a cluster peer's imported data (?peer=).
func Peer(name string) Option { return Option{kind: optPeer, s1: name} }

// Tag keeps only service instances with this tag (?tag=). Repeat it to
// require several tags.
func Tag(tag string) Option { return Option{kind: optTag, s1: tag} }

// Passing keeps only instances whose checks all pass (?passing).
func Passing() Option { return Option{kind: optPassing} }

// Separator makes KV.ListKeys stop listing at this separator (?separator=),
// e.g. "/" to list one directory level. KV.List and KV.DeleteTree accept
// and send it too, as aioconsul's get_tree and delete_tree do, but Consul
// ignores it there: they read or delete the whole tree.
func Separator(sep string) Option { return Option{kind: optSeparator, s1: sep} }

// Flags sets the opaque flags stored with a KV pair on a write (?flags=).
func Flags(flags uint64) Option { return Option{kind: optFlags, n: flags} }

// routeOption is an option of one route: a query parameter of its own
// kind, so that another method refuses it.
func routeOption(kind optKind, key, value string) Option {
	return Option{kind: kind, s1: key, s2: value}
}

// Param adds any query parameter this package has no option for. An empty
// value sends a bare key (?key). A parameter that an Option sets on the
// route (dc, index, wait, filter, tag...) is refused with an
// *ArgumentError naming that Option, and so is one the call sends itself
// (KV.PutCAS's cas, a Request's Params): sent twice, Consul would read one
// of the two and drop the other without a word.
func Param(key, value string) Option { return Option{kind: optParam, s1: key, s2: value} }

// duration is a time.Duration on the wire, for the generated JSON methods
// (codec_gen.go) and the hand-written ones left: it reads Consul's "15s"
// strings and plain numbers of nanoseconds, and writes the string form. A
// null leaves it alone, as encoding/json leaves a number. It is the one
// duration codec, written by hand.
type duration time.Duration

// MarshalJSON writes the "1m30s" form. The generated methods all use it.
func (d duration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Duration(d).String() + `"`), nil
}

// UnmarshalJSON reads "1m30s", "" (zero) or nanoseconds; null changes
// nothing.
func (d *duration) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
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
