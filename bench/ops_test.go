package bench

import (
	"context"
	"fmt"
	"net/http"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/bench/internal/fixture"
	"github.com/hashicorp/consul/api"
)

// An operation, done once by each kind of client. Each func does the
// operation once and returns a count of what it read (keys, instances...)
// so that the tests can check that every client really did the work.
type op struct {
	name     string
	ours     func(ctx context.Context, e *env) (int, error)
	official func(ctx context.Context, e *env) (int, error)
	floor    func(ctx context.Context, e *env) (int, error)
	want     int // the count every client must return
}

// ops is every operation but the watch, which has its own loop.
var ops = []*op{
	{
		name: "KVGet", want: 1,
		ours: func(ctx context.Context, e *env) (int, error) {
			p, _, err := e.ours.KV.Get(ctx, fixture.SmallKey)
			if err != nil || p == nil {
				return 0, err
			}
			return 1, nil
		},
		official: func(ctx context.Context, e *env) (int, error) {
			p, _, err := e.official.KV().Get(fixture.SmallKey, (&api.QueryOptions{}).WithContext(ctx))
			if err != nil || p == nil {
				return 0, err
			}
			return 1, nil
		},
		floor: func(ctx context.Context, e *env) (int, error) {
			return 1, e.floorDo(ctx, http.MethodGet, "/v1/kv/"+fixture.SmallKey, nil)
		},
	},
	{
		name: "KVPut", want: 1,
		ours: func(ctx context.Context, e *env) (int, error) {
			return 1, e.ours.KV.Put(ctx, fixture.SmallKey, smallValue)
		},
		official: func(ctx context.Context, e *env) (int, error) {
			_, err := e.official.KV().Put(&api.KVPair{Key: fixture.SmallKey, Value: smallValue}, (&api.WriteOptions{}).WithContext(ctx))
			return 1, err
		},
		floor: func(ctx context.Context, e *env) (int, error) {
			return 1, e.floorDo(ctx, http.MethodPut, "/v1/kv/"+fixture.SmallKey, smallValue)
		},
	},
	{
		name: "KVList1000", want: fixture.ListKeys,
		ours: func(ctx context.Context, e *env) (int, error) {
			ps, _, err := e.ours.KV.List(ctx, fixture.ListPrefix)
			return len(ps), err
		},
		official: func(ctx context.Context, e *env) (int, error) {
			ps, _, err := e.official.KV().List(fixture.ListPrefix, (&api.QueryOptions{}).WithContext(ctx))
			return len(ps), err
		},
		floor: func(ctx context.Context, e *env) (int, error) {
			return fixture.ListKeys, e.floorDo(ctx, http.MethodGet, "/v1/kv/"+fixture.ListPrefix+"?recurse", nil)
		},
	},
	{
		name: "HealthService200", want: fixture.Instances,
		ours: oursHealthService,
		official: func(ctx context.Context, e *env) (int, error) {
			es, _, err := e.official.Health().Service(fixture.Service, "", true, (&api.QueryOptions{}).WithContext(ctx))
			return len(es), err
		},
		floor: func(ctx context.Context, e *env) (int, error) {
			return fixture.Instances, e.floorDo(ctx, http.MethodGet, "/v1/health/service/"+fixture.Service+"?passing", nil)
		},
	},
	{
		// 500 services plus web and consul.
		name: "CatalogServices500", want: fixture.Services + 2,
		ours: oursCatalogServices,
		official: func(ctx context.Context, e *env) (int, error) {
			m, _, err := e.official.Catalog().Services((&api.QueryOptions{}).WithContext(ctx))
			return len(m), err
		},
		floor: func(ctx context.Context, e *env) (int, error) {
			return fixture.Services + 2, e.floorDo(ctx, http.MethodGet, "/v1/catalog/services", nil)
		},
	},
	{
		name: "Txn64", want: fixture.TxnOps,
		ours: func(ctx context.Context, e *env) (int, error) {
			t := e.ours.Txn.New()
			for i := range txnKeys {
				t.Set(txnKeys[i], txnValues[i])
			}
			rs, _, err := t.Execute(ctx)
			return len(rs), err
		},
		official: func(ctx context.Context, e *env) (int, error) {
			ops := make(api.TxnOps, 0, fixture.TxnOps)
			for i := range txnKeys {
				ops = append(ops, &api.TxnOp{KV: &api.KVTxnOp{Verb: api.KVSet, Key: txnKeys[i], Value: txnValues[i]}})
			}
			ok, resp, _, err := e.official.Txn().Txn(ops, (&api.QueryOptions{}).WithContext(ctx))
			if err != nil {
				return 0, err
			}
			if !ok {
				return 0, fmt.Errorf("txn rolled back: %v", resp.Errors)
			}
			return len(resp.Results), nil
		},
		floor: func(ctx context.Context, e *env) (int, error) {
			return fixture.TxnOps, e.floorDo(ctx, http.MethodPut, "/v1/txn", txnBody)
		},
	},
	{
		name: "SessionCreateDestroy", want: 1,
		ours: func(ctx context.Context, e *env) (int, error) {
			id, err := e.ours.Session.Create(ctx, &consul.SessionEntry{Name: fixture.SessionName})
			if err != nil {
				return 0, err
			}
			return 1, e.ours.Session.Destroy(ctx, id)
		},
		official: func(ctx context.Context, e *env) (int, error) {
			id, _, err := e.official.Session().Create(&api.SessionEntry{Name: fixture.SessionName}, (&api.WriteOptions{}).WithContext(ctx))
			if err != nil {
				return 0, err
			}
			_, err = e.official.Session().Destroy(id, (&api.WriteOptions{}).WithContext(ctx))
			return 1, err
		},
		floor: func(ctx context.Context, e *env) (int, error) {
			if err := e.floorDo(ctx, http.MethodPut, "/v1/session/create", sessionBody); err != nil {
				return 0, err
			}
			// The floor reads no answer, so it cannot know the ID: it
			// destroys a session that does not exist, which costs the agent
			// as much.
			return 1, e.floorDo(ctx, http.MethodPut, "/v1/session/destroy/"+floorSessionID, nil)
		},
	},
}

var (
	smallValue     = []byte(fixture.SmallValue)
	txnKeys        []string
	txnValues      [][]byte
	txnBody        []byte
	sessionBody    = []byte(`{"Name":"` + fixture.SessionName + `"}`)
	floorSessionID = "b2a1e6c2-5d0f-4c1e-9a57-5e7c1f0f0b00"
)

func init() {
	body := []byte{'['}
	for i := 0; i < fixture.TxnOps; i++ {
		txnKeys = append(txnKeys, fixture.TxnKey(i))
		txnValues = append(txnValues, fixture.TxnValue(i))
		if i > 0 {
			body = append(body, ',')
		}
		body = fmt.Appendf(body, `{"KV":{"Verb":"set","Key":%q,"Value":"%s"}}`, fixture.TxnKey(i), b64(fixture.TxnValue(i)))
	}
	txnBody = append(body, ']')
}
