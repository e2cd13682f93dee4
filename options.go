package consul

import "time"

// Option adjusts one call: the datacenter it targets, its consistency, its
// token, a blocking index, a filter... Build options with the functions of
// this file and pass them last, e.g.
//
//	pairs, meta, err := client.KV.List(ctx, "app/", consul.Stale(), consul.Datacenter("dc2"))
//
// Options that a route does not use are sent anyway and ignored by Consul;
// options that set one value (Datacenter, Token, a consistency mode...) win
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
// header. A token holding a control character is refused with an
// *ArgumentError before sending (a permanent error: a Watch ends on it).
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
// e.g. "/" to list one directory level.
func Separator(sep string) Option { return Option{kind: optSeparator, s1: sep} }

// Flags sets the opaque flags stored with a KV pair on a write (?flags=).
func Flags(flags uint64) Option { return Option{kind: optFlags, n: flags} }

// Param adds any query parameter this package has no option for. An empty
// value sends a bare key (?key).
func Param(key, value string) Option { return Option{kind: optParam, s1: key, s2: value} }

// defaultWait is Consul's wait when a blocking read gives none.
const defaultWait = 5 * time.Minute

// maxWait is the longest wait Consul honours.
const maxWait = 10 * time.Minute

// callOptions is the resolution of the client defaults and a call's options
// for the single-valued settings.
type callOptions struct {
	dc, token, hash     string
	ns, partition       string
	consistency         Consistency
	index               uint64
	wait                time.Duration
	maxAge, staleIfErr  time.Duration
	maxStale            time.Duration
	hasMaxAge, hasStale bool
	cached              bool
}

// blocking reports whether the call waits on the server.
func (o *callOptions) blocking() bool { return o.index > 0 || o.hash != "" }

// resolve applies defaults then opts, validating each.
func (c *Client) resolve(opts []Option, o *callOptions) error {
	o.dc = c.datacenter
	o.token = c.token
	o.ns = c.namespace
	o.partition = c.partition
	o.consistency = c.consistency
	for i := range opts {
		op := &opts[i]
		switch op.kind {
		case optDatacenter:
			o.dc = op.s1
		case optConsistency:
			o.consistency = Consistency(op.n)
			if !o.consistency.valid() {
				return argError("consistency", "unknown mode %d", op.n)
			}
		case optToken:
			if err := checkToken("token", op.s1); err != nil {
				return err
			}
			o.token = op.s1
		case optWaitIndex:
			o.index = op.n
		case optWaitTime:
			if op.d < 0 {
				return argError("wait", "negative duration %s", op.d)
			}
			o.wait = op.d
		case optWaitHash:
			o.hash = op.s1
		case optCached:
			o.cached = true
		case optMaxAge:
			if op.d < 0 {
				return argError("max-age", "negative duration %s", op.d)
			}
			o.cached, o.hasMaxAge, o.maxAge = true, true, op.d
		case optStaleIfError:
			if op.d < 0 {
				return argError("stale-if-error", "negative duration %s", op.d)
			}
			o.cached, o.hasStale, o.staleIfErr = true, true, op.d
		case optMaxStale:
			if op.d < 0 {
				return argError("max_stale", "negative duration %s", op.d)
			}
			o.maxStale = op.d
		case optNamespace:
			o.ns = op.s1
		case optPartition:
			o.partition = op.s1
		}
	}
	return nil
}
