package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/goconsul/consul"
)

// tourKV follows aioconsul's "Key/Value Store" section: common, tree and CAS
// operations.
func tourKV(ctx context.Context, t *tourEnv) error {
	kv := t.client.KV
	key := t.prefix + "/my/key"

	if err := kv.Put(ctx, key, []byte("my value")); err != nil {
		return err
	}
	step("kv.set(%q, b\"my value\")", key)

	pair, meta, err := kv.Get(ctx, key)
	if err != nil {
		return err
	}
	step("kv.get(%q) -> %q (ModifyIndex %d, meta.Index %d)", key, pair.Value, pair.ModifyIndex, meta.Index)

	missing, meta, err := kv.Get(ctx, t.prefix+"/nothing/here")
	if err != nil {
		return err
	}
	step("kv.get of a missing key -> %v, no error, meta.Index %d to block on", missing, meta.Index)

	for _, k := range []string{"my/key/a", "my/key/b", "my/key/sub/c"} {
		if err := kv.Put(ctx, t.prefix+"/"+k, []byte(k), consul.Flags(42)); err != nil {
			return err
		}
	}
	keys, _, err := kv.ListKeys(ctx, t.prefix+"/my/key/", consul.Separator("/"))
	if err != nil {
		return err
	}
	step("kv.keys(%q, separator=\"/\") -> %v", t.prefix+"/my/key/", keys)

	// As the seed writes it: Consul ignores the separator of a recursive
	// read, which returns the whole tree.
	tree, _, err := kv.List(ctx, t.prefix+"/my/", consul.Separator("/"))
	if err != nil {
		return err
	}
	step("kv.get_tree(%q, separator=\"/\") -> %d pairs", t.prefix+"/my/", len(tree))
	for _, p := range tree {
		step("    %s = %q (flags %d)", p.Key, p.Value, p.Flags)
	}

	ok, err := kv.PutCAS(ctx, key, []byte("new value"), pair.ModifyIndex)
	if err != nil {
		return err
	}
	step("kv.cas(%q, index=%d) -> %v", key, pair.ModifyIndex, ok)
	ok, err = kv.PutCAS(ctx, key, []byte("stale write"), pair.ModifyIndex)
	if err != nil {
		return err
	}
	step("kv.cas with the same, now stale, index -> %v", ok)

	cur, _, err := kv.Get(ctx, key)
	if err != nil {
		return err
	}
	ok, err = kv.DeleteCAS(ctx, key, cur.ModifyIndex)
	if err != nil {
		return err
	}
	step("kv.delete_cas(%q, index=%d) -> %v", key, cur.ModifyIndex, ok)

	if err := kv.DeleteTree(ctx, t.prefix+"/my/", consul.Separator("/")); err != nil {
		return err
	}
	keys, _, err = kv.ListKeys(ctx, t.prefix+"/")
	if err != nil {
		return err
	}
	step("kv.delete_tree(%q, separator=\"/\") -> keys left: %v", t.prefix+"/my/", keys)

	_, _, err = kv.Get(ctx, "")
	var argErr *consul.ArgumentError
	if !errors.As(err, &argErr) {
		return fmt.Errorf("an empty key should be refused, got %v", err)
	}
	step("kv.get(\"\") is refused before sending: %v", err)
	return kv.DeleteTree(ctx, t.prefix+"/")
}

// tourTxn follows aioconsul's "Key/Value Transactions".
func tourTxn(ctx context.Context, t *tourEnv) error {
	key := t.prefix + "/txn/key"
	results, _, err := t.client.Txn.New().
		Set(key, []byte("my value")).
		Get(key).
		Execute(ctx)
	if err != nil {
		return err
	}
	step("kv.prepare().set(%q).get(%q).execute() -> %d results, read back %q", key, key, len(results), results[1].KV.Value)

	_, _, err = t.client.Txn.New().
		CheckIndex(key, 1).
		Set(key, []byte("never written")).
		Execute(ctx)
	var txnErr *consul.TxnError
	if !errors.As(err, &txnErr) {
		return fmt.Errorf("want a rolled back transaction, got %v", err)
	}
	step("a failed check-index rolls everything back: op %d: %s", txnErr.Errors[0].OpIndex, txnErr.Errors[0].What)
	return t.client.KV.DeleteTree(ctx, t.prefix+"/")
}
