package consul_test

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An answer recorded from a Consul 1.19.2 agent (1.22.7 answers the same):
// durations in nanoseconds, InlineBytes in base64.
const configTestJWTProviderJSON = `{"Kind":"jwt-provider","Name":"j1","JSONWebKeySet":{"Remote":{"URI":"https://127.0.0.1:1/jwks.json",` +
	`"RequestTimeoutMs":1500,"CacheDuration":600000000000,"FetchAsynchronously":true,"RetryPolicy":{"NumRetries":3,` +
	`"RetryPolicyBackOff":{"BaseInterval":1000000000,"MaxInterval":5000000000}},"JWKSCluster":{"DiscoveryType":"STATIC",` +
	`"TLSCertificates":{"TrustedCA":{"InlineBytes":"aGkA/w=="}},"ConnectTimeout":2000000000}}},"Issuer":"iss","Audiences":["a1","a2"],` +
	`"Locations":[{"Header":{"Name":"Authorization","ValuePrefix":"Bearer ","Forward":true}},{"QueryParam":{"Name":"tok"}},{"Cookie":{"Name":"c"}}],` +
	`"Forwarding":{"HeaderName":"x-jwt","PadForwardPayloadHeader":true},"ClockSkewSeconds":45,"CacheConfig":{"Size":100},` +
	`"Meta":{"a":"b"},"Hash":13413717046052987202,"CreateIndex":31,"ModifyIndex":31}`

func TestConfigEntriesJWTProviderWire(t *testing.T) {
	w, c := newWire(t, reply{Body: "true"})
	require.NoError(t, c.ConfigEntries.Put(testCtx(t), &consul.JWTProviderConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Name: "okta"},
		Issuer:            "https://okta.example.com",
		JSONWebKeySet: &consul.JWTProviderKeySet{Remote: &consul.JWTProviderRemoteKeySet{
			URI: "https://okta.example.com/keys", CacheDuration: 10 * time.Minute,
			RetryPolicy: &consul.JWTProviderRetryPolicy{NumRetries: 2, RetryPolicyBackOff: &consul.JWTProviderRetryBackOff{
				BaseInterval: 500 * time.Millisecond, MaxInterval: 4 * time.Second}},
			JWKSCluster: &consul.JWTProviderJWKSCluster{ConnectTimeout: 3 * time.Second, TLSCertificates: &consul.JWTProviderTLSCertificates{
				TrustedCA: &consul.JWTProviderTrustedCA{InlineBytes: []byte{'h', 'i', 0, 255}}}},
		}},
		Locations: []*consul.JWTProviderLocation{{Cookie: &consul.JWTProviderLocationCookie{Name: "session"}}},
	}))
	r := w.only(t)
	r.expect(t, "PUT", "/v1/config", nil)
	// Durations in Consul's "10m0s" form; InlineBytes as numbers (Consul
	// would store a base64 string as its own text).
	assert.JSONEq(t, `{"Kind":"jwt-provider","Name":"okta","Issuer":"https://okta.example.com",
		"JSONWebKeySet":{"Remote":{"URI":"https://okta.example.com/keys","CacheDuration":"10m0s",
			"RetryPolicy":{"NumRetries":2,"RetryPolicyBackOff":{"BaseInterval":"500ms","MaxInterval":"4s"}},
			"JWKSCluster":{"ConnectTimeout":"3s","TLSCertificates":{"TrustedCA":{"InlineBytes":[104,105,0,255]}}}}},
		"Locations":[{"Cookie":{"Name":"session"}}]}`, r.Body)

	_, c = newWire(t, reply{Body: configTestJWTProviderJSON})
	entry, _, err := c.ConfigEntries.Get(testCtx(t), consul.ConfigKindJWTProvider, "j1")
	require.NoError(t, err)
	jp, ok := entry.(*consul.JWTProviderConfigEntry)
	require.True(t, ok, "%T", entry)
	assert.Equal(t, &consul.JWTProviderConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Kind: consul.ConfigKindJWTProvider, Name: "j1", Meta: map[string]string{"a": "b"},
			CreateIndex: 31, ModifyIndex: 31},
		JSONWebKeySet: &consul.JWTProviderKeySet{Remote: &consul.JWTProviderRemoteKeySet{
			URI: "https://127.0.0.1:1/jwks.json", RequestTimeoutMs: 1500, CacheDuration: 10 * time.Minute, FetchAsynchronously: true,
			RetryPolicy: &consul.JWTProviderRetryPolicy{NumRetries: 3, RetryPolicyBackOff: &consul.JWTProviderRetryBackOff{
				BaseInterval: time.Second, MaxInterval: 5 * time.Second}},
			JWKSCluster: &consul.JWTProviderJWKSCluster{DiscoveryType: "STATIC", ConnectTimeout: 2 * time.Second,
				TLSCertificates: &consul.JWTProviderTLSCertificates{TrustedCA: &consul.JWTProviderTrustedCA{InlineBytes: []byte{'h', 'i', 0, 255}}}},
		}},
		Issuer:    "iss",
		Audiences: []string{"a1", "a2"},
		Locations: []*consul.JWTProviderLocation{
			{Header: &consul.JWTProviderLocationHeader{Name: "Authorization", ValuePrefix: "Bearer ", Forward: true}},
			{QueryParam: &consul.JWTProviderLocationQueryParam{Name: "tok"}},
			{Cookie: &consul.JWTProviderLocationCookie{Name: "c"}},
		},
		Forwarding:       &consul.JWTProviderForwarding{HeaderName: "x-jwt", PadForwardPayloadHeader: true},
		ClockSkewSeconds: 45,
		CacheConfig:      &consul.JWTProviderCacheConfig{Size: 100},
	}, jp)

	// The codecs: durations left out keep their value; InlineBytes reads
	// Consul's base64 and the numbers this package writes.
	bo := consul.JWTProviderRetryBackOff{BaseInterval: time.Second, MaxInterval: time.Minute}
	require.NoError(t, json.Unmarshal([]byte(`{"MaxInterval":"2m"}`), &bo))
	assert.Equal(t, consul.JWTProviderRetryBackOff{BaseInterval: time.Second, MaxInterval: 2 * time.Minute}, bo)
	var ca consul.JWTProviderTrustedCA
	require.NoError(t, json.Unmarshal([]byte(`{"InlineBytes":[1,2,255]}`), &ca))
	assert.Equal(t, []byte{1, 2, 255}, ca.InlineBytes)
	b, err := json.Marshal(consul.JWTProviderTrustedCA{Filename: "/ca.pem"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"Filename":"/ca.pem"}`, string(b), "no InlineBytes when empty")

	// Negative durations are refused before sending.
	w, c = newWire(t, reply{Body: "true"})
	for field, remote := range map[string]*consul.JWTProviderRemoteKeySet{
		"JWTProviderConfigEntry.JSONWebKeySet.Remote.CacheDuration": {CacheDuration: -1},
		"JWTProviderConfigEntry.JSONWebKeySet.Remote.RetryPolicy.RetryPolicyBackOff.MaxInterval": {
			RetryPolicy: &consul.JWTProviderRetryPolicy{RetryPolicyBackOff: &consul.JWTProviderRetryBackOff{MaxInterval: -time.Second}}},
		"JWTProviderConfigEntry.JSONWebKeySet.Remote.JWKSCluster.ConnectTimeout": {
			JWKSCluster: &consul.JWTProviderJWKSCluster{ConnectTimeout: -time.Second}},
	} {
		configTestArg(t, c.ConfigEntries.Put(testCtx(t), &consul.JWTProviderConfigEntry{
			ConfigEntryHeader: consul.ConfigEntryHeader{Name: "j"}, JSONWebKeySet: &consul.JWTProviderKeySet{Remote: remote}}), field)
	}
	w.noRequest(t)
}

func TestConfigEntriesJWTProviderIntegration(t *testing.T) {
	srv := testAgent(t)
	s := newClient(t, srv).ConfigEntries
	name := configTestName(t, "jwt")

	// Each entry holds one of the choices Consul allows exactly one of:
	// the key set local or remote, a local key set as JWKS or a file, the
	// CA of a remote one as a provider instance, a file, a variable, a
	// string or bytes. Together they set every field.
	jwks := base64.StdEncoding.EncodeToString([]byte(`{"keys":[]}`))
	remote := func(ca *consul.JWTProviderTLSCertificates) *consul.JWTProviderKeySet {
		return &consul.JWTProviderKeySet{Remote: &consul.JWTProviderRemoteKeySet{
			URI: "https://127.0.0.1:1/.well-known/jwks.json", RequestTimeoutMs: 1500, CacheDuration: 10 * time.Minute,
			FetchAsynchronously: true, UseSNI: true,
			RetryPolicy: &consul.JWTProviderRetryPolicy{NumRetries: 3, RetryPolicyBackOff: &consul.JWTProviderRetryBackOff{
				BaseInterval: 250 * time.Millisecond, MaxInterval: 5 * time.Second}},
			JWKSCluster: &consul.JWTProviderJWKSCluster{DiscoveryType: "STATIC", ConnectTimeout: 2 * time.Second, TLSCertificates: ca},
		}}
	}
	keySets := map[string]func() *consul.JWTProviderKeySet{
		"bytes": func() *consul.JWTProviderKeySet {
			// Bytes that are not text survive exactly.
			return remote(&consul.JWTProviderTLSCertificates{TrustedCA: &consul.JWTProviderTrustedCA{InlineBytes: []byte{'-', 0, 1, 0x80, 0xff}}})
		},
		"string": func() *consul.JWTProviderKeySet {
			return remote(&consul.JWTProviderTLSCertificates{TrustedCA: &consul.JWTProviderTrustedCA{InlineString: "-----BEGIN CERTIFICATE-----"}})
		},
		"file": func() *consul.JWTProviderKeySet {
			return remote(&consul.JWTProviderTLSCertificates{TrustedCA: &consul.JWTProviderTrustedCA{Filename: "/etc/ssl/ca.pem"}})
		},
		"env": func() *consul.JWTProviderKeySet {
			return remote(&consul.JWTProviderTLSCertificates{TrustedCA: &consul.JWTProviderTrustedCA{EnvironmentVariable: "JWKS_CA"}})
		},
		"instance": func() *consul.JWTProviderKeySet {
			return remote(&consul.JWTProviderTLSCertificates{CaCertificateProviderInstance: &consul.JWTProviderCertProviderInstance{
				InstanceName: "default", CertificateName: "ROOTCA"}})
		},
		"local-jwks": func() *consul.JWTProviderKeySet {
			return &consul.JWTProviderKeySet{Local: &consul.JWTProviderLocalKeySet{JWKS: jwks}}
		},
		"local-file": func() *consul.JWTProviderKeySet {
			return &consul.JWTProviderKeySet{Local: &consul.JWTProviderLocalKeySet{Filename: "/etc/jwks.json"}}
		},
	}
	build := func(variant string) *consul.JWTProviderConfigEntry {
		return &consul.JWTProviderConfigEntry{
			ConfigEntryHeader: consul.ConfigEntryHeader{Name: name + "-" + variant, Meta: map[string]string{"owner": "config-test"}},
			JSONWebKeySet:     keySets[variant](),
			Issuer:            "https://issuer.example.com",
			Audiences:         []string{"web", "api"},
			Locations: []*consul.JWTProviderLocation{
				{Header: &consul.JWTProviderLocationHeader{Name: "Authorization", ValuePrefix: "Bearer ", Forward: true}},
				{QueryParam: &consul.JWTProviderLocationQueryParam{Name: "token"}},
				{Cookie: &consul.JWTProviderLocationCookie{Name: "session"}},
			},
			Forwarding:       &consul.JWTProviderForwarding{HeaderName: "x-jwt-payload", PadForwardPayloadHeader: true},
			ClockSkewSeconds: 45,
			CacheConfig:      &consul.JWTProviderCacheConfig{Size: 500},
		}
	}
	var all []any
	for variant := range keySets {
		all = append(all, build(variant))
	}
	configTestAllSet(t, configTestHeaderExcept, all...)

	for variant := range keySets {
		want := build(variant)
		t.Cleanup(func() { _ = s.Delete(testCtx(t), consul.ConfigKindJWTProvider, want.Name) })
		newer := true
		if want.JSONWebKeySet.Remote != nil {
			newer = configTestPut(t, s, want, "JSONWebKeySet.Remote.UseSNI", func() { want.JSONWebKeySet.Remote.UseSNI = false })
		} else {
			configTestPut(t, s, want, "", nil)
		}
		got := configTestGet(t, s, consul.ConfigKindJWTProvider, want.Name)
		expect := build(variant)
		expect.Kind = consul.ConfigKindJWTProvider
		if !newer {
			expect.JSONWebKeySet.Remote.UseSNI = false
		}
		assert.Equal(t, expect, got, variant) // nothing normalized
	}

	// What Consul fills in: a clock skew of 30s when none is given.
	bare := &consul.JWTProviderConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: name + "-bare"},
		JSONWebKeySet: &consul.JWTProviderKeySet{Local: &consul.JWTProviderLocalKeySet{JWKS: jwks}}}
	t.Cleanup(func() { _ = s.Delete(testCtx(t), consul.ConfigKindJWTProvider, bare.Name) })
	require.NoError(t, s.Put(testCtx(t), bare))
	got := configTestGet(t, s, consul.ConfigKindJWTProvider, bare.Name).(*consul.JWTProviderConfigEntry)
	assert.Equal(t, 30, got.ClockSkewSeconds)

	// What Consul refuses, and how (its validation errors are 500s).
	err := s.Put(testCtx(t), &consul.JWTProviderConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: name + "-nokeys"}})
	configTestStatusError(t, err, 500, "JSONWebKeySet is required")
	both := build("local-jwks")
	both.JSONWebKeySet.Remote = keySets["file"]().Remote
	both.JSONWebKeySet.Remote.UseSNI = false
	err = s.Put(testCtx(t), both)
	configTestStatusError(t, err, 500, "must specify exactly one of Local or Remote JSON Web key set")
	twoCAs := build("file")
	twoCAs.JSONWebKeySet.Remote.UseSNI = false
	twoCAs.JSONWebKeySet.Remote.JWKSCluster.TLSCertificates.TrustedCA.InlineString = "x"
	err = s.Put(testCtx(t), twoCAs)
	configTestStatusError(t, err, 500, "must specify exactly one of: Filename, EnvironmentVariable, InlineString or InlineBytes")
}
