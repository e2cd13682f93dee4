package discovery

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/goconsul/consul"
)

// queryKey is a Query in comparable form: the key of the shared watches.
// Tags are sorted (the order of required tags does not matter) and joined
// by NUL, which no tag can hold in a query string.
type queryKey struct {
	service, tags, dc, near, filter, peer string
	passing, connect                      bool
}

func (q *Query) key() queryKey {
	tags := slices.Clone(q.Tags)
	slices.Sort(tags)
	tags = slices.Compact(tags)
	return queryKey{
		service: q.Service, tags: strings.Join(tags, "\x00"), dc: q.Datacenter,
		near: q.Near, filter: q.Filter, peer: q.Peer, passing: q.PassingOnly, connect: q.Connect,
	}
}

// options returns the read options of the key's query.
func (k queryKey) options() []consul.Option {
	var opts []consul.Option
	if k.tags != "" {
		for _, t := range strings.Split(k.tags, "\x00") {
			opts = append(opts, consul.Tag(t))
		}
	}
	if k.passing {
		opts = append(opts, consul.Passing())
	}
	if k.dc != "" {
		opts = append(opts, consul.Datacenter(k.dc))
	}
	if k.near != "" {
		opts = append(opts, consul.Near(k.near))
	}
	if k.filter != "" {
		opts = append(opts, consul.Filter(k.filter))
	}
	if k.peer != "" {
		opts = append(opts, consul.Peer(k.peer))
	}
	return opts
}

// watchBackoffMax caps the backoff of the shared watches after errors,
// below the consul package's default of a minute: an agent that comes
// back is noticed within ten seconds.
const watchBackoffMax = 10 * time.Second

// connectWatchWait is the wait of each blocking read of a Connect query
// (/v1/health/connect/:service). When the last Connect-capable instance of
// a service leaves while other instances of it remain, Consul 1.19 to 1.22
// answer the now empty list with an older index (that of the last service
// to disappear from the catalog): a blocking read sent after the change
// with the previous answer's index then waits for its whole wait, and the
// change would be seen minutes late. A short wait bounds that to 10
// seconds, for one request per 10 seconds per watched query.
const connectWatchWait = 10 * time.Second

type entriesGroup = consul.WatchGroup[queryKey, []*consul.ServiceEntry]

// watches holds one WatchGroup per *consul.Client, so that every Instances
// of one query on one client (in one process) shares one blocking request.
// A client's group is dropped when its last Instances closes.
var watches struct {
	mu sync.Mutex
	m  map[*consul.Client]*clientWatches
}

type clientWatches struct {
	group *entriesGroup
	refs  int
	keys  map[queryKey]*keyState
}

// keyState is what the requests of one shared watch say about Consul: the
// error of the latest request, nil after a success. The watch yields an
// answer only when it changed, so that this is how its users learn that
// Consul answers again with nothing new.
type keyState struct {
	refs int
	mu   sync.Mutex
	err  error
}

func (k *keyState) lastErr() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.err
}

// acquireGroup returns the client's group and the state of key's watch,
// creating them on first use; each call must be paired with a
// releaseGroup of the same key.
func acquireGroup(client *consul.Client, key queryKey) (*entriesGroup, *keyState) {
	watches.mu.Lock()
	defer watches.mu.Unlock()
	if watches.m == nil {
		watches.m = make(map[*consul.Client]*clientWatches)
	}
	cw := watches.m[client]
	if cw == nil {
		cw = &clientWatches{keys: map[queryKey]*keyState{}}
		read := func(k queryKey) consul.BlockingRead[[]*consul.ServiceEntry] {
			watches.mu.Lock()
			ks := cw.keys[k]
			watches.mu.Unlock()
			list := client.Health.ListServiceInstances
			if k.connect {
				list = client.Health.ListConnectInstances
			}
			bound := consul.Bind(list, k.service, k.options()...)
			return func(ctx context.Context, opts ...consul.Option) ([]*consul.ServiceEntry, *consul.Meta, error) {
				if ks != nil && ks.lastErr() != nil {
					// After a failure, a plain read: an answer with nothing
					// new comes at once instead of at the end of the wait,
					// so that Err clears as soon as Consul answers again.
					opts = append(opts[:len(opts):len(opts)], consul.WaitIndex(0))
				}
				if k.connect {
					opts = append(opts[:len(opts):len(opts)], consul.WaitTime(connectWatchWait))
				}
				v, meta, err := bound(ctx, opts...)
				if ks != nil && ctx.Err() == nil {
					ks.mu.Lock()
					ks.err = err
					ks.mu.Unlock()
				}
				return v, meta, err
			}
		}
		cw.group = consul.NewWatchGroup(read, consul.WatchLogger(client.Logger()),
			consul.WatchBackoff(consul.DefaultWatchBackoffMin, watchBackoffMax))
		watches.m[client] = cw
	}
	cw.refs++
	ks := cw.keys[key]
	if ks == nil {
		ks = &keyState{}
		cw.keys[key] = ks
	}
	ks.refs++
	return cw.group, ks
}

func releaseGroup(client *consul.Client, key queryKey) {
	watches.mu.Lock()
	defer watches.mu.Unlock()
	cw := watches.m[client]
	if cw == nil {
		return
	}
	if ks := cw.keys[key]; ks != nil {
		if ks.refs--; ks.refs == 0 {
			delete(cw.keys, key)
		}
	}
	if cw.refs--; cw.refs == 0 {
		delete(watches.m, client)
	}
}
