package consul

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Observer sees the calls of a Client (Config.Observer), for tracing and
// metrics: the otelconsul module implements it with OpenTelemetry spans.
// A call is one method call (one request of a Watch, one stream opened),
// however many attempts its retries and failovers take; a call refused
// before sending (an *ArgumentError) is not seen. What an Observer
// sees is never secret: the route is a template ("/v1/kv/:key"), never a
// key, an ID or a token, and no body is shown.
type Observer interface {
	// StartCall is called when a call starts, before its first attempt.
	// The context it returns is the one the call continues with (the
	// HTTP request carries it, so a span started here is the parent of
	// what the transport does); the CallObserver it returns sees the rest
	// of the call and must not be nil.
	StartCall(ctx context.Context, info *CallStart) (context.Context, CallObserver)
}

// CallObserver sees one call after it started.
type CallObserver interface {
	// Attempt is called before each attempt after the first: a retry
	// (n counts attempts from 1), or a failover to agent.
	Attempt(n int, agent string)
	// End is called once, when the call ends; for a stream, when its
	// answer's headers arrived.
	End(end *CallEnd)
}

// CallStart describes a call as it starts.
type CallStart struct {
	Name   string // the method, e.g. "KV.Get"; "Client.Do" for Do
	Method string // the HTTP method, e.g. "GET"
	// Route is the route template, e.g. "/v1/kv/:key"; for Client.Do, the
	// Request.Route as given.
	Route string
	// Datacenter is the datacenter asked for, "" for the agent's own.
	Datacenter  string
	Consistency Consistency
	// Index and Wait are those of a blocking read (WaitIndex, WaitTime),
	// zero otherwise; Hash says it blocks on a content hash instead.
	Index uint64
	Wait  time.Duration
	Hash  bool
	// Cached says the call may be answered from the agent's cache (Cached,
	// MaxAge, StaleIfError); CallEnd.Meta.CacheHit says whether it was.
	Cached bool
	// Stream says the call's answer is a stream (a snapshot, the agent's
	// log or metrics): End comes when its headers arrived.
	Stream bool
	// Agent is the base URL of the agent the call starts with; an
	// Attempt with another agent is a failover.
	Agent string
}

// CallEnd describes how a call ended.
type CallEnd struct {
	// StatusCode is the status of the last answer, 0 when none came (a
	// transport error, a call refused before sending).
	StatusCode int
	// Meta is what the last answer's headers said, nil when none came.
	Meta *Meta
	// Err is the call's error, nil on success.
	Err error
	// Attempts is the number of requests sent or tried (1 without retries
	// and failovers); 0 when the call was refused before sending.
	Attempts int
	// Agent is the base URL of the agent of the last attempt.
	Agent string
}

func callInfo(r *request, o *callOptions) *CallStart {
	info := &CallStart{
		Name: r.e.name, Method: r.e.method, Route: r.e.route,
		Datacenter: o.dc, Consistency: o.consistency, Cached: o.cached,
	}
	if o.blocking() {
		info.Index, info.Hash = o.index, o.hash != ""
		info.Wait = o.wait
		if info.Wait == 0 {
			info.Wait = defaultWait
		}
	}
	return info
}

// statusOf is the status code of an attempt: the answer's, or the
// StatusError's, 0 when no answer came.
func statusOf(resp *http.Response, err error) int {
	if resp != nil {
		return resp.StatusCode
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.StatusCode
	}
	return 0
}
