package consul_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log"
	"strings"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/goconsul/consul/consultest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Answers recorded from a Consul 1.19.2 agent (certificates shortened).
const (
	connectTestCAConfigJSON = `{"Provider":"consul","Config":{"IntermediateCertTTL":"8760h",
"LeafCertTTL":"72h","RootCertTTL":"87600h"},"State":null,"ForceWithoutCrossSigning":false,
"CreateIndex":5,"ModifyIndex":9}`
	connectTestRootsJSON = `{"ActiveRootID":"72:a8:a2:fa","TrustDomain":"5eec5e1a-1251-3a9c-8bd2-358e73a76b27.consul",
"Roots":[{"ID":"72:a8:a2:fa","Name":"Consul CA Primary Cert","SerialNumber":7,"SigningKeyID":"9e:07:28:29",
"ExternalTrustDomain":"5eec5e1a-1251-3a9c-8bd2-358e73a76b27","NotBefore":"2026-11-21T22:39:09Z",
"NotAfter":"2036-11-18T22:39:09Z","RootCert":"-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n",
"IntermediateCerts":null,"Active":true,"PrivateKeyType":"ec","PrivateKeyBits":256,"CreateIndex":9,"ModifyIndex":9}]}`
	connectTestIntentionJSON = `{"CreatedAt":"2026-11-21T22:39:10.915650822Z","UpdatedAt":"2026-11-21T22:39:10.915650822Z",
"ID":"56cdd8ac-c8f0-083c-177a-f5909fd87c50","Description":"d","SourceNS":"default","SourceName":"web",
"DestinationNS":"default","DestinationName":"db","SourceType":"consul","Action":"allow","Meta":{"a":"b"},
"Precedence":9,"Hash":"4qkL3n00MBUjvJYbD4XcAksznI+mbAIkxxpEQVGfwBQ=","CreateIndex":18,"ModifyIndex":18}`
	connectTestID = "56cdd8ac-c8f0-083c-177a-f5909fd87c50"
)

func connectTestIntention() *consul.Intention {
	ts := time.Date(2026, 11, 21, 22, 39, 10, 915650822, time.UTC)
	return &consul.Intention{
		ID: connectTestID, Description: "d",
		SourceNS: "default", SourceName: "web", DestinationNS: "default", DestinationName: "db",
		SourceType: "consul", Action: consul.IntentionAllow, Meta: map[string]string{"a": "b"},
		Precedence: 9, CreatedAt: ts, UpdatedAt: ts, CreateIndex: 18, ModifyIndex: 18,
	}
}

func TestConnectCAConfigurationWire(t *testing.T) {
	ctx := testCtx(t)
	w, c := newWire(t, reply{Body: connectTestCAConfigJSON, Header: map[string]string{"X-Consul-Index": "9"}})
	cfg, meta, err := c.Connect.CAConfiguration(ctx, consul.Datacenter("dc2"), consul.Stale())
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/connect/ca/configuration", q("dc", "dc2", "stale", ""))
	assert.Equal(t, uint64(9), meta.Index)
	assert.Equal(t, &consul.ConnectCAConfig{
		Provider:    "consul",
		Config:      map[string]any{"IntermediateCertTTL": "8760h", "LeafCertTTL": "72h", "RootCertTTL": "87600h"},
		CreateIndex: 5, ModifyIndex: 9,
	}, cfg)

	w, c = newWire(t, reply{Body: ""})
	require.NoError(t, c.Connect.SetCAConfiguration(ctx, &consul.ConnectCAConfig{
		Provider:                 "consul",
		Config:                   map[string]any{"LeafCertTTL": "24h", "PrivateKeyBits": 2048},
		ForceWithoutCrossSigning: true,
	}, consul.Token("op-token")))
	s := w.only(t)
	s.expect(t, "PUT", "/v1/connect/ca/configuration", nil)
	assert.Equal(t, "op-token", s.Header.Get("X-Consul-Token"))
	assert.JSONEq(t, `{"Provider":"consul","Config":{"LeafCertTTL":"24h","PrivateKeyBits":2048},
		"ForceWithoutCrossSigning":true}`, s.Body)
}

func TestConnectCARootsWire(t *testing.T) {
	ctx := testCtx(t)
	w, c := newWire(t, reply{Body: connectTestRootsJSON, Header: map[string]string{"X-Consul-Index": "9"}})
	roots, meta, err := c.Connect.CARoots(ctx, consul.WaitIndex(5), consul.WaitTime(time.Second))
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/connect/ca/roots", q("index", "5", "wait", "1s"))
	assert.Equal(t, uint64(9), meta.Index)
	assert.Equal(t, &consul.ConnectCARoots{
		ActiveRootID: "72:a8:a2:fa",
		TrustDomain:  "5eec5e1a-1251-3a9c-8bd2-358e73a76b27.consul",
		Roots: []*consul.ConnectCARoot{{
			ID: "72:a8:a2:fa", Name: "Consul CA Primary Cert", SerialNumber: 7, SigningKeyID: "9e:07:28:29",
			ExternalTrustDomain: "5eec5e1a-1251-3a9c-8bd2-358e73a76b27",
			NotBefore:           time.Date(2026, 11, 21, 22, 39, 9, 0, time.UTC),
			NotAfter:            time.Date(2036, 11, 18, 22, 39, 9, 0, time.UTC),
			RootCert:            "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n",
			Active:              true, PrivateKeyType: "ec", PrivateKeyBits: 256, CreateIndex: 9, ModifyIndex: 9,
		}},
	}, roots)
	assert.Same(t, roots.Roots[0], roots.Active())

	pem := "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n"
	w, c = newWire(t, reply{Body: pem, Header: map[string]string{"Content-Type": "application/pem-certificate-chain"}})
	got, _, err := c.Connect.CARootsPEM(ctx)
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/connect/ca/roots", q("pem", "true"))
	assert.Equal(t, pem, string(got))
}

func TestConnectListIntentionsWire(t *testing.T) {
	ctx := testCtx(t)
	w, c := newWire(t, reply{Body: "[" + connectTestIntentionJSON + "]", Header: map[string]string{"X-Consul-Index": "18"}})
	list, meta, err := c.Connect.ListIntentions(ctx, consul.Filter(`DestinationName == "db"`), consul.WaitIndex(3))
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/connect/intentions", q("filter", `DestinationName == "db"`, "index", "3"))
	assert.Equal(t, uint64(18), meta.Index)
	assert.Equal(t, []*consul.Intention{connectTestIntention()}, list)

	_, c = newWire(t, reply{Body: "[]"})
	list, _, err = c.Connect.ListIntentions(ctx)
	require.NoError(t, err)
	assert.NotNil(t, list)
	assert.Empty(t, list)
}

func TestConnectIntentionByIDWire(t *testing.T) {
	ctx := testCtx(t)
	ixn := &consul.Intention{
		SourceName: "web", DestinationName: "db", Action: consul.IntentionDeny,
		Description: "no", Meta: map[string]string{"team": "a"},
	}

	w, c := newWire(t, reply{Body: `{"ID":"` + connectTestID + `"}`})
	id, err := c.Connect.CreateIntention(ctx, ixn, consul.Datacenter("dc2"))
	require.NoError(t, err)
	assert.Equal(t, connectTestID, id)
	s := w.only(t)
	s.expect(t, "POST", "/v1/connect/intentions", q("dc", "dc2"))
	assert.JSONEq(t, `{"SourceName":"web","DestinationName":"db","Action":"deny","Description":"no",
		"Meta":{"team":"a"}}`, s.Body)
	assert.Equal(t, "application/json", s.Header.Get("Content-Type"))

	w, c = newWire(t, reply{Body: connectTestIntentionJSON})
	got, _, err := c.Connect.GetIntention(ctx, connectTestID, consul.Consistent())
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/connect/intentions/"+connectTestID, q("consistent", ""))
	assert.Equal(t, connectTestIntention(), got)

	w, c = newWire(t, reply{Status: 404, Body: "Intention not found", Header: map[string]string{"X-Consul-Index": "4"}})
	got, meta, err := c.Connect.GetIntention(ctx, "a b#c")
	require.NoError(t, err, "a missing intention is not an error")
	assert.Nil(t, got)
	assert.Equal(t, uint64(4), meta.Index)
	w.only(t).expect(t, "GET", "/v1/connect/intentions/a%20b%23c", nil)

	// Update sends the whole intention read back, timestamps included.
	up := connectTestIntention()
	up.Action = consul.IntentionDeny
	w, c = newWire(t, reply{Body: `{"ID":"` + connectTestID + `"}`})
	require.NoError(t, c.Connect.UpdateIntention(ctx, up))
	s = w.only(t)
	s.expect(t, "PUT", "/v1/connect/intentions/"+connectTestID, nil)
	assert.JSONEq(t, `{"CreatedAt":"2026-11-21T22:39:10.915650822Z","UpdatedAt":"2026-11-21T22:39:10.915650822Z",
		"ID":"56cdd8ac-c8f0-083c-177a-f5909fd87c50","Description":"d","SourceNS":"default","SourceName":"web",
		"DestinationNS":"default","DestinationName":"db","SourceType":"consul","Action":"deny","Meta":{"a":"b"},
		"Precedence":9,"CreateIndex":18,"ModifyIndex":18}`, s.Body)

	w, c = newWire(t, reply{Body: "true"})
	require.NoError(t, c.Connect.DeleteIntention(ctx, connectTestID, consul.Token("tok")))
	s = w.only(t)
	s.expect(t, "DELETE", "/v1/connect/intentions/"+connectTestID, nil)
	assert.Equal(t, "tok", s.Header.Get("X-Consul-Token"))
	assert.Empty(t, s.Body)

	_, c = newWire(t, reply{Status: 500, Body: "Cannot delete non-existent intention: 'x'"})
	err = c.Connect.DeleteIntention(ctx, "x")
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 500, se.StatusCode)
}

func TestConnectIntentionExactWire(t *testing.T) {
	ctx := testCtx(t)
	w, c := newWire(t, reply{Body: connectTestIntentionJSON})
	got, _, err := c.Connect.GetIntentionExact(ctx, "peer:other/web", "ns1/db&x")
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/connect/intentions/exact", q("source", "peer:other/web", "destination", "ns1/db&x"))
	assert.Equal(t, connectTestIntention(), got)

	_, c = newWire(t, reply{Status: 404, Body: "Intention not found"})
	got, meta, err := c.Connect.GetIntentionExact(ctx, "nope", "db")
	require.NoError(t, err)
	assert.Nil(t, got)
	assert.NotNil(t, meta)

	// Upsert: names in the query, the ID left out, L7 permissions in the body.
	w, c = newWire(t, reply{Body: "true"})
	stored, err := c.Connect.PutIntention(ctx, &consul.Intention{
		ID: "ignored", SourceName: "web", DestinationName: "api",
		Permissions: []*consul.ServiceIntentionsPermission{{
			Action: consul.IntentionAllow,
			HTTP: &consul.ServiceIntentionsHTTPPermission{
				PathPrefix: "/v1/", Methods: []string{"GET", "HEAD"},
				Header: []consul.ServiceIntentionsHeaderPermission{{Name: "X-Env", Exact: "prod"}, {Name: "X-Debug", Present: true, Invert: true}},
			},
		}, {
			Action: consul.IntentionDeny,
			HTTP:   &consul.ServiceIntentionsHTTPPermission{PathRegex: ".*"},
		}},
		JWT: &consul.ServiceIntentionsJWT{Providers: []*consul.ServiceIntentionsJWTProvider{{
			Name: "okta", VerifyClaims: []*consul.ServiceIntentionsJWTClaim{{Path: []string{"perms", "role"}, Value: "admin"}},
		}}},
	}, consul.Datacenter("dc2"))
	require.NoError(t, err)
	assert.True(t, stored, "Consul's answer")
	s := w.only(t)
	s.expect(t, "PUT", "/v1/connect/intentions/exact", q("source", "web", "destination", "api", "dc", "dc2"))
	assert.JSONEq(t, `{"SourceName":"web","DestinationName":"api",
		"Permissions":[
			{"Action":"allow","HTTP":{"PathPrefix":"/v1/","Methods":["GET","HEAD"],
				"Header":[{"Name":"X-Env","Exact":"prod"},{"Name":"X-Debug","Present":true,"Invert":true}]}},
			{"Action":"deny","HTTP":{"PathRegex":".*"}}],
		"JWT":{"Providers":[{"Name":"okta","VerifyClaims":[{"Path":["perms","role"],"Value":"admin"}]}]}}`, s.Body)

	// Namespaces and partitions become prefixes of the query names.
	// The bool is Consul's answer, whatever it is.
	w, c = newWire(t, reply{Body: "false"})
	stored, err = c.Connect.PutIntention(ctx, &consul.Intention{
		SourceName: "web", SourceNS: "team", DestinationName: "db", DestinationPartition: "ap1",
		Action: consul.IntentionAllow,
	})
	require.NoError(t, err)
	assert.False(t, stored, "Consul's answer")
	s = w.only(t)
	s.expect(t, "PUT", "/v1/connect/intentions/exact", q("source", "team/web", "destination", "ap1/default/db"))
	assert.JSONEq(t, `{"SourceName":"web","SourceNS":"team","DestinationName":"db",
		"DestinationPartition":"ap1","Action":"allow"}`, s.Body)

	w, c = newWire(t, reply{Body: "true"})
	require.NoError(t, c.Connect.DeleteIntentionExact(ctx, "web", "db"))
	s = w.only(t)
	s.expect(t, "DELETE", "/v1/connect/intentions/exact", q("source", "web", "destination", "db"))
	assert.Empty(t, s.Body)
}

func TestConnectMatchAndCheckWire(t *testing.T) {
	ctx := testCtx(t)
	w, c := newWire(t, reply{Body: `{"db":[` + connectTestIntentionJSON + `],"zzz":null}`,
		Header: map[string]string{"X-Consul-Index": "18"}})
	m, meta, err := c.Connect.MatchIntentions(ctx, consul.IntentionMatchDestination, []string{"db", "zzz"}, consul.Cached())
	require.NoError(t, err)
	w.only(t).expect(t, "GET", "/v1/connect/intentions/match", q("by", "destination", "name", "db", "name", "zzz", "cached", ""))
	assert.Equal(t, uint64(18), meta.Index)
	assert.Equal(t, map[string][]*consul.Intention{"db": {connectTestIntention()}, "zzz": {}}, m)

	w, c = newWire(t, reply{Body: `{"Allowed":true}`})
	ok, _, err := c.Connect.CheckIntention(ctx, "web", "db", consul.Param("source-type", "consul"))
	require.NoError(t, err)
	assert.True(t, ok)
	w.only(t).expect(t, "GET", "/v1/connect/intentions/check", q("source", "web", "destination", "db", "source-type", "consul"))

	_, c = newWire(t, reply{Body: `{"Allowed":false}`})
	ok, _, err = c.Connect.CheckIntention(ctx, "web", "db")
	require.NoError(t, err)
	assert.False(t, ok)

	_, c = newWire(t, reply{Status: 403, Body: "Permission denied"})
	_, _, err = c.Connect.CheckIntention(ctx, "web", "db")
	assert.ErrorIs(t, err, consul.ErrPermissionDenied)
}

func TestConnectBadInput(t *testing.T) {
	ctx := testCtx(t)
	w, c := newWire(t)
	ok := &consul.Intention{SourceName: "web", DestinationName: "db", Action: consul.IntentionAllow}
	with := func(f func(*consul.Intention)) *consul.Intention {
		x := *ok
		f(&x)
		return &x
	}
	perm := []*consul.ServiceIntentionsPermission{{Action: consul.IntentionAllow, HTTP: &consul.ServiceIntentionsHTTPPermission{PathPrefix: "/"}}}
	for name, tc := range map[string]struct {
		err error
		arg string
	}{
		"set nil":         {c.Connect.SetCAConfiguration(ctx, nil), "config"},
		"set no provider": {c.Connect.SetCAConfiguration(ctx, &consul.ConnectCAConfig{}), "ConnectCAConfig.Provider"},
		"create nil":      {func() error { _, err := c.Connect.CreateIntention(ctx, nil); return err }(), "intention"},
		"create no source": {func() error {
			_, err := c.Connect.CreateIntention(ctx, with(func(x *consul.Intention) { x.SourceName = "" }))
			return err
		}(), "Intention.SourceName"},
		"create no destination": {func() error {
			_, err := c.Connect.CreateIntention(ctx, with(func(x *consul.Intention) { x.DestinationName = "" }))
			return err
		}(), "Intention.DestinationName"},
		"create bad action": {func() error {
			_, err := c.Connect.CreateIntention(ctx, with(func(x *consul.Intention) { x.Action = "Allow" }))
			return err
		}(), "Intention.Action"},
		"create no action": {func() error {
			_, err := c.Connect.CreateIntention(ctx, with(func(x *consul.Intention) { x.Action = "" }))
			return err
		}(), "Intention.Action"},
		"create with ID": {func() error {
			_, err := c.Connect.CreateIntention(ctx, with(func(x *consul.Intention) { x.ID = connectTestID }))
			return err
		}(), "Intention.ID"},
		"create permissions": {func() error {
			_, err := c.Connect.CreateIntention(ctx, with(func(x *consul.Intention) { x.Action, x.Permissions = "", perm }))
			return err
		}(), "Intention.Permissions"},
		"create bad source type": {func() error {
			_, err := c.Connect.CreateIntention(ctx, with(func(x *consul.Intention) { x.SourceType = "external-uri" }))
			return err
		}(), "Intention.SourceType"},
		"get empty id":    {func() error { _, _, err := c.Connect.GetIntention(ctx, ""); return err }(), "id"},
		"update no id":    {c.Connect.UpdateIntention(ctx, ok), "Intention.ID"},
		"update bad":      {c.Connect.UpdateIntention(ctx, with(func(x *consul.Intention) { x.ID, x.Action = "x", "maybe" })), "Intention.Action"},
		"delete empty id": {c.Connect.DeleteIntention(ctx, ""), "id"},
		"exact no source": {func() error { _, _, err := c.Connect.GetIntentionExact(ctx, "", "db"); return err }(), "source"},
		"exact no dest":   {func() error { _, _, err := c.Connect.GetIntentionExact(ctx, "web", ""); return err }(), "destination"},
		"put nil":         {putIntentionErr(c.Connect.PutIntention(ctx, nil)), "intention"},
		"put no action":   {putIntentionErr(c.Connect.PutIntention(ctx, with(func(x *consul.Intention) { x.Action = "" }))), "Intention.Action"},
		"put both":        {putIntentionErr(c.Connect.PutIntention(ctx, with(func(x *consul.Intention) { x.Permissions = perm }))), "Intention.Action"},
		"put bad perm": {putIntentionErr(c.Connect.PutIntention(ctx, with(func(x *consul.Intention) {
			x.Action, x.Permissions = "", []*consul.ServiceIntentionsPermission{{Action: "permit"}}
		}))), "Intention.Permissions"},
		"put nil perm": {putIntentionErr(c.Connect.PutIntention(ctx, with(func(x *consul.Intention) {
			x.Action, x.Permissions = "", []*consul.ServiceIntentionsPermission{nil}
		}))), "Intention.Permissions"},
		"put peer":           {putIntentionErr(c.Connect.PutIntention(ctx, with(func(x *consul.Intention) { x.SourcePeer = "dc2" }))), "Intention.SourcePeer"},
		"put meta":           {putIntentionErr(c.Connect.PutIntention(ctx, with(func(x *consul.Intention) { x.Meta = map[string]string{"k": "v"} }))), "Intention.Meta"},
		"put no dest":        {putIntentionErr(c.Connect.PutIntention(ctx, with(func(x *consul.Intention) { x.DestinationName = "" }))), "Intention.DestinationName"},
		"delete exact empty": {c.Connect.DeleteIntentionExact(ctx, "web", ""), "destination"},
		"match bad by": {func() error {
			_, _, err := c.Connect.MatchIntentions(ctx, "both", []string{"db"})
			return err
		}(), "by"},
		"match no names": {func() error {
			_, _, err := c.Connect.MatchIntentions(ctx, consul.IntentionMatchSource, nil)
			return err
		}(), "names"},
		"match empty name": {func() error {
			_, _, err := c.Connect.MatchIntentions(ctx, consul.IntentionMatchSource, []string{"a", ""})
			return err
		}(), "names"},
		"check no source": {func() error { _, _, err := c.Connect.CheckIntention(ctx, "", "db"); return err }(), "source"},
	} {
		var ae *consul.ArgumentError
		if assert.True(t, errors.As(tc.err, &ae), "%s: want an ArgumentError, got %v", name, tc.err) {
			assert.Equal(t, tc.arg, ae.Arg, name)
		}
		assert.False(t, strings.Contains(tc.err.Error(), "\n"), name)
	}
	w.noRequest(t)
}

// --- integration tests ---

func TestConnectCA(t *testing.T) {
	// A private agent: changing the CA rotates the root, which other tests
	// on the shared agent must not see.
	srv := consultest.NewServer(t, consultest.Config{})
	c := newClient(t, srv)
	ctx := testCtx(t)

	cfg, _, err := c.Connect.CAConfiguration(ctx)
	require.NoError(t, err)
	assert.Equal(t, "consul", cfg.Provider)
	assert.Equal(t, "72h", cfg.Config["LeafCertTTL"])
	assert.NotZero(t, cfg.ModifyIndex)

	roots, meta, err := c.Connect.CARoots(ctx)
	require.NoError(t, err)
	require.NotZero(t, meta.Index)
	require.Len(t, roots.Roots, 1)
	old := roots.Active()
	require.NotNil(t, old)
	assert.True(t, old.Active)
	assert.True(t, strings.HasSuffix(roots.TrustDomain, ".consul"), roots.TrustDomain)
	assert.Equal(t, "ec", old.PrivateKeyType)
	block, _ := pem.Decode([]byte(old.RootCert))
	require.NotNil(t, block)
	cert, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	assert.True(t, cert.IsCA)
	assert.WithinDuration(t, cert.NotAfter, old.NotAfter, time.Second)

	bundle, _, err := c.Connect.CARootsPEM(ctx)
	require.NoError(t, err)
	assert.Equal(t, old.RootCert, string(bundle))

	// A blocking read of the roots wakes up when the CA rotates.
	type rootsResult struct {
		roots *consul.ConnectCARoots
		meta  *consul.Meta
		err   error
	}
	done := make(chan rootsResult, 1)
	go func() {
		r, m, err := c.Connect.CARoots(ctx, consul.WaitIndex(meta.Index), consul.WaitTime(30*time.Second))
		done <- rootsResult{r, m, err}
	}()
	time.Sleep(200 * time.Millisecond)

	// Provider State is read-only: Consul refuses a changed one.
	err = c.Connect.SetCAConfiguration(ctx, &consul.ConnectCAConfig{
		Provider: "consul", Config: cfg.Config, State: map[string]string{"forged": "x"},
	})
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 400, se.StatusCode)

	newCfg := map[string]any{"LeafCertTTL": "24h", "PrivateKeyType": "rsa", "PrivateKeyBits": 2048}
	require.NoError(t, c.Connect.SetCAConfiguration(ctx, &consul.ConnectCAConfig{Provider: "consul", Config: newCfg}))

	var res rootsResult
	select {
	case res = <-done:
	case <-time.After(40 * time.Second):
		t.Fatal("the blocking CARoots did not return after the rotation")
	}
	require.NoError(t, res.err)
	assert.Greater(t, res.meta.Index, meta.Index)
	roots, _, err = c.Connect.CARoots(ctx)
	require.NoError(t, err)
	require.Len(t, roots.Roots, 2, "the old root stays trusted during the rotation")
	active := roots.Active()
	require.NotNil(t, active)
	assert.NotEqual(t, old.ID, active.ID)
	assert.Equal(t, "rsa", active.PrivateKeyType)
	assert.Equal(t, 2048, active.PrivateKeyBits)

	cfg2, _, err := c.Connect.CAConfiguration(ctx)
	require.NoError(t, err)
	assert.Equal(t, "24h", cfg2.Config["LeafCertTTL"])
	assert.Equal(t, "rsa", cfg2.Config["PrivateKeyType"])
	assert.Greater(t, cfg2.ModifyIndex, cfg.ModifyIndex)
}

func TestConnectIntentionsByID(t *testing.T) {
	c := newClient(t, testAgent(t))
	ctx := testCtx(t)
	src, dst := uniq(t, "src"), uniq(t, "dst")

	id, err := c.Connect.CreateIntention(ctx, &consul.Intention{
		SourceName: src, DestinationName: dst, Action: consul.IntentionAllow,
		Description: "first", Meta: map[string]string{"team": "a"},
	})
	require.NoError(t, err)
	require.NotEmpty(t, id)
	t.Cleanup(func() { _ = c.Connect.DeleteIntentionExact(testCtx(t), src, dst) })

	got, meta, err := c.Connect.GetIntention(ctx, id)
	require.NoError(t, err)
	require.NotNil(t, got)
	assert.NotNil(t, meta)
	assert.Equal(t, id, got.ID)
	assert.Equal(t, src, got.SourceName)
	assert.Equal(t, dst, got.DestinationName)
	assert.Equal(t, "default", got.SourceNS)
	assert.Equal(t, consul.IntentionSourceConsul, got.SourceType)
	assert.Equal(t, consul.IntentionAllow, got.Action)
	assert.Equal(t, "first", got.Description)
	assert.Equal(t, map[string]string{"team": "a"}, got.Meta)
	assert.Equal(t, 9, got.Precedence)
	assert.WithinDuration(t, time.Now(), got.CreatedAt, time.Minute)

	// A second intention between the same services is refused.
	_, err = c.Connect.CreateIntention(ctx, &consul.Intention{SourceName: src, DestinationName: dst, Action: consul.IntentionDeny})
	require.Error(t, err)
	// ... and so is an upserted one to the same destination.
	_, err = c.Connect.PutIntention(ctx, &consul.Intention{SourceName: uniq(t, "other"), DestinationName: dst, Action: consul.IntentionDeny})
	require.ErrorAs(t, err, new(*consul.StatusError))

	list, _, err := c.Connect.ListIntentions(ctx, consul.Filter(`DestinationName == "`+dst+`"`))
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, id, list[0].ID)

	allowed, _, err := c.Connect.CheckIntention(ctx, src, dst)
	require.NoError(t, err)
	assert.True(t, allowed)

	// Update what was read: the action flips, the ID and creation stay.
	got.Action = consul.IntentionDeny
	got.Description = "second"
	require.NoError(t, c.Connect.UpdateIntention(ctx, got))
	up, _, err := c.Connect.GetIntention(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, consul.IntentionDeny, up.Action)
	assert.Equal(t, "second", up.Description)
	assert.Greater(t, up.ModifyIndex, got.ModifyIndex)
	assert.True(t, up.CreatedAt.Equal(got.CreatedAt))

	allowed, _, err = c.Connect.CheckIntention(ctx, src, dst)
	require.NoError(t, err)
	assert.False(t, allowed, "the updated intention denies")

	exact, _, err := c.Connect.GetIntentionExact(ctx, src, dst)
	require.NoError(t, err)
	require.NotNil(t, exact)
	assert.Equal(t, id, exact.ID)

	require.NoError(t, c.Connect.DeleteIntention(ctx, id))
	got, meta, err = c.Connect.GetIntention(ctx, id)
	require.NoError(t, err, "a deleted intention reads as nil")
	assert.Nil(t, got)
	assert.NotNil(t, meta)

	err = c.Connect.DeleteIntention(ctx, id)
	require.Error(t, err, "Consul refuses to delete a missing intention by ID")
	got, _, err = c.Connect.GetIntention(ctx, consultest.NewUUID())
	require.NoError(t, err)
	assert.Nil(t, got)

	// An ID that is not a UUID is a 400, not a missing intention.
	_, _, err = c.Connect.GetIntention(ctx, "not-a-uuid")
	require.ErrorAs(t, err, new(*consul.StatusError))
}

func TestConnectIntentionsExact(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	src, other, dst := uniq(t, "src"), uniq(t, "other"), uniq(t, "dst")
	t.Cleanup(func() {
		ctx := testCtx(t)
		_ = c.Connect.DeleteIntentionExact(ctx, src, dst)
		_ = c.Connect.DeleteIntentionExact(ctx, "*", dst)
	})

	got, _, err := c.Connect.GetIntentionExact(ctx, src, dst)
	require.NoError(t, err)
	assert.Nil(t, got, "no intention yet")

	requireStored(t)(c.Connect.PutIntention(ctx, &consul.Intention{
		SourceName: "*", DestinationName: dst, Action: consul.IntentionDeny, Description: "default deny",
	}))
	requireStored(t)(c.Connect.PutIntention(ctx, &consul.Intention{
		SourceName: src, DestinationName: dst, Action: consul.IntentionDeny,
	}))
	// Upsert replaces.
	requireStored(t)(c.Connect.PutIntention(ctx, &consul.Intention{
		SourceName: src, DestinationName: dst, Action: consul.IntentionAllow, Description: "web may",
	}))

	got, _, err = c.Connect.GetIntentionExact(ctx, src, dst)
	require.NoError(t, err)
	require.NotNil(t, got)
	assert.Empty(t, got.ID, "upserted intentions have no legacy ID")
	assert.Equal(t, consul.IntentionAllow, got.Action)
	assert.Equal(t, "web may", got.Description)

	for source, want := range map[string]bool{src: true, other: false} {
		allowed, _, err := c.Connect.CheckIntention(ctx, source, dst)
		require.NoError(t, err)
		assert.Equal(t, want, allowed, source)
	}

	// Match by destination lists both, the exact one first (precedence).
	m, meta, err := c.Connect.MatchIntentions(ctx, consul.IntentionMatchDestination, []string{dst, other})
	require.NoError(t, err)
	assert.NotZero(t, meta.Index)
	require.Len(t, m[dst], 2)
	assert.Equal(t, src, m[dst][0].SourceName)
	assert.Equal(t, "*", m[dst][1].SourceName)
	assert.Greater(t, m[dst][0].Precedence, m[dst][1].Precedence)
	assert.NotNil(t, m[other])
	assert.Empty(t, m[other])

	m, _, err = c.Connect.MatchIntentions(ctx, consul.IntentionMatchSource, []string{src})
	require.NoError(t, err)
	var dsts []string
	for _, ixn := range m[src] {
		if ixn.DestinationName == dst {
			dsts = append(dsts, ixn.SourceName)
		}
	}
	assert.Equal(t, []string{src, "*"}, dsts, "a source matches its own and the wildcard intentions")

	require.NoError(t, c.Connect.DeleteIntentionExact(ctx, src, dst))
	got, _, err = c.Connect.GetIntentionExact(ctx, src, dst)
	require.NoError(t, err)
	assert.Nil(t, got)
	require.NoError(t, c.Connect.DeleteIntentionExact(ctx, src, dst), "deleting a missing intention is not an error")

	allowed, _, err := c.Connect.CheckIntention(ctx, src, dst)
	require.NoError(t, err)
	assert.False(t, allowed, "only the wildcard deny is left")
}

func TestConnectIntentionPermissions(t *testing.T) {
	srv := testAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	src, dst := uniq(t, "src"), uniq(t, "dst")

	// L7 permissions need an HTTP destination: set its protocol with a
	// service-defaults config entry.
	require.NoError(t, c.ConfigEntries.Put(ctx, &consul.ServiceDefaultsConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: dst}, Protocol: "http"}))
	t.Cleanup(func() {
		_ = c.Connect.DeleteIntentionExact(testCtx(t), src, dst)
		_ = c.ConfigEntries.Delete(testCtx(t), consul.ConfigKindServiceDefaults, dst)
	})

	perms := []*consul.ServiceIntentionsPermission{{
		Action: consul.IntentionAllow,
		HTTP: &consul.ServiceIntentionsHTTPPermission{
			PathPrefix: "/api/", Methods: []string{"GET", "HEAD"},
			Header: []consul.ServiceIntentionsHeaderPermission{{Name: "X-Env", Exact: "prod"}, {Name: "X-Debug", Present: true, Invert: true}},
		},
	}, {
		Action: consul.IntentionDeny,
		HTTP:   &consul.ServiceIntentionsHTTPPermission{PathRegex: ".*"},
	}}
	requireStored(t)(c.Connect.PutIntention(ctx, &consul.Intention{
		SourceName: src, DestinationName: dst, Permissions: perms,
	}))
	got, _, err := c.Connect.GetIntentionExact(ctx, src, dst)
	require.NoError(t, err)
	require.NotNil(t, got)
	assert.Empty(t, got.Action)
	assert.Equal(t, perms, got.Permissions)

	// The intention is a source of the destination's service-intentions
	// config entry, with the same permission types.
	entry, _, err := c.ConfigEntries.Get(ctx, consul.ConfigKindServiceIntentions, dst)
	require.NoError(t, err)
	ie, ok := entry.(*consul.ServiceIntentionsConfigEntry)
	require.True(t, ok, "%T", entry)
	require.Len(t, ie.Sources, 1)
	assert.Equal(t, src, ie.Sources[0].Name)
	assert.Equal(t, perms, ie.Sources[0].Permissions)

	// The ID-based routes cannot hold L7 permissions: refused before sending.
	got.ID = consultest.NewUUID()
	require.ErrorAs(t, c.Connect.UpdateIntention(ctx, got), new(*consul.ArgumentError))
}

func TestConnectIntentionsACL(t *testing.T) {
	srv := testACLAgent(t)
	c := newClient(t, srv)
	ctx := testCtx(t)
	src, dst := uniq(t, "src"), uniq(t, "dst")
	ixn := &consul.Intention{SourceName: src, DestinationName: dst, Action: consul.IntentionAllow}

	_, err := c.Connect.PutIntention(ctx, ixn)
	require.ErrorIs(t, err, consul.ErrPermissionDenied)
	_, err = c.Connect.CreateIntention(ctx, ixn)
	require.ErrorIs(t, err, consul.ErrPermissionDenied)

	mgmt := consul.Token(srv.ManagementToken)
	_, err = c.Connect.PutIntention(ctx, ixn, mgmt)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Connect.DeleteIntentionExact(testCtx(t), src, dst, mgmt) })

	// Reads without a token are filtered, not refused.
	list, _, err := c.Connect.ListIntentions(ctx, consul.Filter(`DestinationName == "`+dst+`"`))
	require.NoError(t, err)
	assert.Empty(t, list)
	list, _, err = c.Connect.ListIntentions(ctx, consul.Filter(`DestinationName == "`+dst+`"`), mgmt)
	require.NoError(t, err)
	assert.Len(t, list, 1)

	_, _, err = c.Connect.CAConfiguration(ctx)
	require.ErrorIs(t, err, consul.ErrPermissionDenied)
	_, _, err = c.Connect.CAConfiguration(ctx, mgmt)
	require.NoError(t, err)
}

func ExampleConnectService_PutIntention() {
	client, _ := consul.NewClient(consul.Config{})
	ctx := context.Background()

	// Deny everything to db, then allow web.
	for _, ixn := range []*consul.Intention{
		{SourceName: "*", DestinationName: "db", Action: consul.IntentionDeny},
		{SourceName: "web", DestinationName: "db", Action: consul.IntentionAllow},
	} {
		if _, err := client.Connect.PutIntention(ctx, ixn); err != nil {
			log.Fatal(err)
		}
	}
	allowed, _, err := client.Connect.CheckIntention(ctx, "web", "db")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("web -> db allowed:", allowed)
}

func ExampleConnectService_CARoots() {
	client, _ := consul.NewClient(consul.Config{})
	ctx := context.Background()
	roots, meta, err := client.Connect.CARoots(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("active root:", roots.Active().Name)

	// Block until the CA rotates (or 5 minutes pass).
	roots, _, err = client.Connect.CARoots(ctx, consul.WaitIndex(meta.Index))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("roots now:", len(roots.Roots))
}

// putIntentionErr keeps the error of PutIntention, for tables of refusals.
func putIntentionErr(_ bool, err error) error { return err }

// requireStored checks that PutIntention stored the intention: no error,
// and Consul's answer true.
func requireStored(t *testing.T) func(bool, error) {
	return func(ok bool, err error) {
		t.Helper()
		require.NoError(t, err)
		require.True(t, ok, "Consul's answer to PutIntention")
	}
}
