package main

import "context"

// tourStatus: aioconsul's client.status.leader() and peers().
func tourStatus(ctx context.Context, t *tourEnv) error {
	leader, _, err := t.client.Status.Leader(ctx)
	if err != nil {
		return err
	}
	step("status.leader() -> %s", leader)
	peers, _, err := t.client.Status.Peers(ctx)
	if err != nil {
		return err
	}
	step("status.peers() -> %v", peers)
	return nil
}
