package main

import (
	"context"
	"errors"

	"github.com/goconsul/consul"
)

// tourOperator: aioconsul's client.operator.configuration() and
// peer_delete(address). On a single-server agent removing the only peer
// would break it, so the tour shows the Raft configuration, autopilot's
// view of it, and how a dead peer would be removed, without removing one.
func tourOperator(ctx context.Context, t *tourEnv) error {
	conf, _, err := t.client.Operator.RaftConfiguration(ctx)
	if err != nil {
		return err
	}
	step("operator.configuration() -> %d server(s) at Raft index %d", len(conf.Servers), conf.Index)
	for _, s := range conf.Servers {
		step("  %s %s id=%s leader=%t voter=%t", s.Node, s.Address, s.ID, s.Leader, s.Voter)
	}

	// Autopilot answers 429 while a server is unhealthy; the library reads
	// that answer as a result with Healthy false.
	health, _, err := t.client.Operator.AutopilotHealth(ctx)
	if err != nil {
		return err
	}
	step("operator autopilot health -> healthy=%t, failure tolerance %d", health.Healthy, health.FailureTolerance)
	for _, s := range health.Servers {
		step("  %s serf=%s healthy=%t last contact %s", s.Name, s.SerfStatus, s.Healthy, s.LastContact)
	}
	if !health.Healthy {
		step("  (Consul answered 429: a server is unhealthy, e.g. just started and not checked by autopilot yet)")
	}

	ap, _, err := t.client.Operator.AutopilotConfiguration(ctx)
	if err != nil {
		return err
	}
	step("operator autopilot configuration -> cleanup dead servers=%t, last contact threshold %s, stabilization %s",
		ap.CleanupDeadServers, ap.LastContactThreshold, ap.ServerStabilizationTime)

	// peer_delete("10.11.12.13:8300") is RemoveRaftPeerByAddress; with an
	// address that is not a peer Consul refuses and nothing changes.
	err = t.client.Operator.RemoveRaftPeerByAddress(ctx, "10.11.12.13:8300")
	var se *consul.StatusError
	switch {
	case errors.As(err, &se):
		step("operator.peer_delete(\"10.11.12.13:8300\") -> %d: %s (the only real peer is left alone)", se.StatusCode, se.Body)
	case err != nil:
		return err
	default:
		step("operator.peer_delete(\"10.11.12.13:8300\") -> removed")
	}
	return nil
}
