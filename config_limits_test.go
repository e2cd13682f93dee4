package consul_test

import (
	"testing"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// configTestRequestLimit is a control-plane-request-limit entry with every
// field set.
func configTestRequestLimit(name string) *consul.ControlPlaneRequestLimitConfigEntry {
	r := func(read, write float64) *consul.ControlPlaneRequestLimitRates {
		return &consul.ControlPlaneRequestLimitRates{ReadRate: read, WriteRate: write}
	}
	return &consul.ControlPlaneRequestLimitConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Name: name, Meta: map[string]string{"owner": "config-test"}},
		Mode:              "permissive", ReadRate: 100, WriteRate: 50.5,
		ACL: r(1, 2), Catalog: r(3, 4), ConfigEntry: r(5, 6), ConnectCA: r(7, 8), Coordinate: r(9, 10),
		DiscoveryChain: r(11, 12), ServerDiscovery: r(13, 14), Health: r(15, 16), Intention: r(17, 18), KV: r(19, 20),
		Tenancy: r(21, 22), PreparedQuery: r(23, 24), Session: r(25, 26), Txn: r(27, 28), AutoConfig: r(29, 30),
		FederationState: r(31, 32), Internal: r(33, 34), PeerStream: r(35, 36), Peering: r(37, 38), DataPlane: r(39, 40),
		DNS: r(41, 42), Subscribe: r(43, 44), Resource: r(45, 46),
	}
}

// configTestRequestLimitJSON is that entry as Consul Enterprise's HTTP API
// takes and answers it.
const configTestRequestLimitJSON = `{"Kind":"control-plane-request-limit","Name":"global","Meta":{"owner":"config-test"},
	"Mode":"permissive","ReadRate":100,"WriteRate":50.5,
	"ACL":{"ReadRate":1,"WriteRate":2},"Catalog":{"ReadRate":3,"WriteRate":4},"ConfigEntry":{"ReadRate":5,"WriteRate":6},
	"ConnectCA":{"ReadRate":7,"WriteRate":8},"Coordinate":{"ReadRate":9,"WriteRate":10},"DiscoveryChain":{"ReadRate":11,"WriteRate":12},
	"ServerDiscovery":{"ReadRate":13,"WriteRate":14},"Health":{"ReadRate":15,"WriteRate":16},"Intention":{"ReadRate":17,"WriteRate":18},
	"KV":{"ReadRate":19,"WriteRate":20},"Tenancy":{"ReadRate":21,"WriteRate":22},"PreparedQuery":{"ReadRate":23,"WriteRate":24},
	"Session":{"ReadRate":25,"WriteRate":26},"Txn":{"ReadRate":27,"WriteRate":28},"AutoConfig":{"ReadRate":29,"WriteRate":30},
	"FederationState":{"ReadRate":31,"WriteRate":32},"Internal":{"ReadRate":33,"WriteRate":34},"PeerStream":{"ReadRate":35,"WriteRate":36},
	"Peering":{"ReadRate":37,"WriteRate":38},"DataPlane":{"ReadRate":39,"WriteRate":40},"DNS":{"ReadRate":41,"WriteRate":42},
	"Subscribe":{"ReadRate":43,"WriteRate":44},"Resource":{"ReadRate":45,"WriteRate":46}}`

func TestConfigEntriesControlPlaneRequestLimitWire(t *testing.T) {
	configTestAllSet(t, configTestHeaderExcept, configTestRequestLimit("global"))

	w, c := newWire(t, reply{Body: "true"})
	require.NoError(t, c.ConfigEntries.Put(testCtx(t), configTestRequestLimit("global")))
	r := w.only(t)
	r.expect(t, "PUT", "/v1/config", nil)
	assert.JSONEq(t, configTestRequestLimitJSON, r.Body)

	// A zero rate is left out (Consul's default); a category without rates
	// is not sent.
	w.reset(reply{Body: "true"})
	require.NoError(t, c.ConfigEntries.Put(testCtx(t), &consul.ControlPlaneRequestLimitConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Name: "global"}, Mode: "enforcing", WriteRate: 10,
		KV: &consul.ControlPlaneRequestLimitRates{ReadRate: 5},
	}))
	assert.JSONEq(t, `{"Kind":"control-plane-request-limit","Name":"global","Mode":"enforcing","WriteRate":10,"KV":{"ReadRate":5}}`, w.only(t).Body)

	// Read back as Consul Enterprise answers.
	_, c = newWire(t, reply{Body: configTestRequestLimitJSON[:len(configTestRequestLimitJSON)-1] + `,"CreateIndex":7,"ModifyIndex":9}`})
	entry, _, err := c.ConfigEntries.Get(testCtx(t), consul.ConfigKindControlPlaneRequestLimit, "global")
	require.NoError(t, err)
	want := configTestRequestLimit("global")
	want.Kind, want.CreateIndex, want.ModifyIndex = consul.ConfigKindControlPlaneRequestLimit, 7, 9
	assert.Equal(t, want, entry)
}

// TestConfigEntriesControlPlaneRequestLimitIntegration: Consul CE does not
// know the kind, on any route of config entries.
func TestConfigEntriesControlPlaneRequestLimitIntegration(t *testing.T) {
	srv := testAgent(t)
	s := newClient(t, srv).ConfigEntries
	ctx := testCtx(t)
	const refused = "invalid config entry kind: control-plane-request-limit"

	err := s.Put(ctx, configTestRequestLimit("global"))
	configTestStatusError(t, err, 400, refused)
	_, err = s.PutCAS(ctx, configTestRequestLimit("global"), 0)
	configTestStatusError(t, err, 400, refused)
	_, _, err = s.Get(ctx, consul.ConfigKindControlPlaneRequestLimit, "global")
	configTestStatusError(t, err, 500, refused)
	_, _, err = s.List(ctx, consul.ConfigKindControlPlaneRequestLimit)
	configTestStatusError(t, err, 500, refused)
	err = s.Delete(ctx, consul.ConfigKindControlPlaneRequestLimit, "global")
	configTestStatusError(t, err, 400, refused)
}
