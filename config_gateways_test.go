package consul_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// configTestCertificate makes a self-signed certificate for host and its
// private key, both in PEM, as an inline-certificate entry takes them.
func configTestCertificate(t *testing.T, host string) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
}

// configTestStatusError asserts err is Consul's answer with that status
// code, whose body holds want.
func configTestStatusError(t *testing.T, err error, code int, want string) {
	t.Helper()
	var se *consul.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, code, se.StatusCode)
	assert.Contains(t, se.Body, want)
}

// Answers recorded from a Consul 1.19.2 agent (1.22.7 answers the same):
// durations in nanoseconds, every field present, null for empty lists.
const (
	configTestHTTPRouteJSON = `{"Kind":"http-route","Name":"r1","Parents":[{"Kind":"api-gateway","Name":"gw","SectionName":"l1"}],` +
		`"Rules":[{"Filters":{"Headers":[{"Add":{"x-a":"1"},"Remove":["x-r"],"Set":{"x-s":"2"}}],"URLRewrite":{"Path":"/new"},` +
		`"RetryFilter":{"NumRetries":3,"RetryOn":["reset"],"RetryOnStatusCodes":[503],"RetryOnConnectFailure":true},` +
		`"TimeoutFilter":{"RequestTimeout":5000000000,"IdleTimeout":30000000000},"JWT":null},` +
		`"ResponseFilters":{"Headers":[{"Add":null,"Remove":null,"Set":{"x-resp":"1"}}]},` +
		`"Matches":[{"Headers":[{"Match":"exact","Name":"x-h","Value":"v"}],"Method":"GET","Path":{"Match":"prefix","Value":"/api"},` +
		`"Query":[{"Match":"present","Name":"q","Value":""}]},{"Headers":null,"Method":"","Path":{"Match":"prefix","Value":"/"},"Query":null}],` +
		`"Services":[{"Name":"web","Weight":5,"Filters":{"Headers":null,"URLRewrite":{"Path":"/"},"RetryFilter":null,"TimeoutFilter":null,"JWT":null},` +
		`"ResponseFilters":{"Headers":[{"Add":null,"Remove":["x"],"Set":null}]}}]}],"Hostnames":["a.example.com"],"Meta":{"a":"b"},` +
		`"Status":{"Conditions":[{"Type":"Accepted","Status":"False","Reason":"InvalidDiscoveryChain",` +
		`"Message":"route protocol does not match targeted service protocol","Resource":{"Kind":"","Name":"","SectionName":""},` +
		`"LastTransitionTime":"2026-11-29T20:44:56.560308136Z"},{"Type":"Bound","Status":"False","Reason":"FailedToBind",` +
		`"Message":"failed to bind route to gateway gw: gateway has not been accepted","Resource":{"Kind":"api-gateway","Name":"gw","SectionName":"l1"},` +
		`"LastTransitionTime":"2026-11-29T20:44:56.560548813Z"}]},"Hash":1932690222141769077,"CreateIndex":22,"ModifyIndex":23}`
	configTestAPIGatewayJSON = `{"Kind":"api-gateway","Name":"gw","Listeners":[{"Name":"l1","Hostname":"*.example.com","Port":9090,"Protocol":"http",` +
		`"TLS":{"Certificates":[{"Kind":"inline-certificate","Name":"cert1","SectionName":""}],"MaxVersion":"TLSv1_3","MinVersion":"TLSv1_2",` +
		`"CipherSuites":["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]},"Override":{},"Default":{}},` +
		`{"Name":"l2","Hostname":"","Port":9091,"Protocol":"tcp","TLS":{"Certificates":null,"MaxVersion":"","MinVersion":"","CipherSuites":null}}],` +
		`"Status":{"Conditions":[{"Type":"Accepted","Status":"True","Reason":"Accepted","Message":"gateway is valid",` +
		`"Resource":{"Kind":"","Name":"","SectionName":""},"LastTransitionTime":"2026-11-29T20:44:47.498616909Z"}]},` +
		`"Meta":{"a":"b"},"Hash":10279686788835865289,"CreateIndex":18,"ModifyIndex":19}`
)

func TestConfigEntriesGatewaysWire(t *testing.T) {
	kb := uint32(96)
	for _, tc := range []struct {
		entry consul.ConfigEntry
		want  string
	}{{
		entry: &consul.APIGatewayConfigEntry{
			ConfigEntryHeader: consul.ConfigEntryHeader{Name: "gw", Meta: map[string]string{"a": "b"}},
			Listeners: []consul.APIGatewayListener{{
				Name: "l1", Hostname: "*.example.com", Port: 9443, Protocol: "http", MaxRequestHeadersKB: &kb,
				TLS: consul.APIGatewayTLS{
					Certificates: []consul.ConfigResourceReference{{Name: "c1"}, {Kind: consul.ConfigKindFileSystemCertificate, Name: "c2"}},
					MinVersion:   "TLSv1_2", MaxVersion: "TLSv1_3", CipherSuites: []string{"TLS_AES_128_GCM_SHA256"},
				},
				Override: &consul.APIGatewayPolicy{},
				Default: &consul.APIGatewayPolicy{JWT: &consul.ServiceIntentionsJWT{Providers: []*consul.ServiceIntentionsJWTProvider{
					{Name: "okta", VerifyClaims: []*consul.ServiceIntentionsJWTClaim{{Path: []string{"role"}, Value: "admin"}}},
				}}},
			}, {Name: "l2", Port: 9444, Protocol: "tcp"}},
			Status: &consul.ConfigEntryStatus{}, // Consul's to write, sent anyway when read back
		},
		want: `{"Kind":"api-gateway","Name":"gw","Meta":{"a":"b"},"Status":{},"Listeners":[
			{"Name":"l1","Hostname":"*.example.com","Port":9443,"Protocol":"http","MaxRequestHeadersKB":96,
			 "TLS":{"Certificates":[{"Name":"c1"},{"Kind":"file-system-certificate","Name":"c2"}],"MinVersion":"TLSv1_2","MaxVersion":"TLSv1_3",
			        "CipherSuites":["TLS_AES_128_GCM_SHA256"]},
			 "Override":{},"Default":{"JWT":{"Providers":[{"Name":"okta","VerifyClaims":[{"Path":["role"],"Value":"admin"}]}]}}},
			{"Name":"l2","Port":9444,"Protocol":"tcp","TLS":{}}]}`,
	}, {
		entry: &consul.HTTPRouteConfigEntry{
			ConfigEntryHeader: consul.ConfigEntryHeader{Name: "r"},
			Parents:           []consul.ConfigResourceReference{{Name: "gw", SectionName: "l1"}},
			Hostnames:         []string{"a.example.com"},
			Rules: []consul.HTTPRouteRule{{
				Filters: consul.HTTPRouteFilters{
					Headers:       []consul.ConfigHTTPHeaderModifiers{{Set: map[string]string{"x": "1"}}},
					URLRewrite:    &consul.HTTPRouteURLRewrite{Path: "/v2"},
					RetryFilter:   &consul.HTTPRouteRetryFilter{NumRetries: 2, RetryOn: []string{"5xx"}, RetryOnStatusCodes: []uint32{503}, RetryOnConnectFailure: true},
					TimeoutFilter: &consul.HTTPRouteTimeoutFilter{RequestTimeout: 1500 * time.Millisecond, IdleTimeout: time.Minute},
				},
				ResponseFilters: consul.HTTPRouteResponseFilters{Headers: []consul.ConfigHTTPHeaderModifiers{{Remove: []string{"server"}}}},
				Matches: []consul.HTTPRouteMatch{{
					Headers: []consul.HTTPRouteHeaderMatch{{Match: "present", Name: "x-debug"}},
					Method:  "GET", Path: consul.HTTPRoutePathMatch{Match: "prefix", Value: "/api"},
					Query: []consul.HTTPRouteQueryMatch{{Match: "exact", Name: "v", Value: "2"}},
				}},
				Services: []consul.HTTPRouteService{{Name: "web", Weight: 3}},
			}},
		},
		want: `{"Kind":"http-route","Name":"r","Parents":[{"Name":"gw","SectionName":"l1"}],"Hostnames":["a.example.com"],"Rules":[{
			"Filters":{"Headers":[{"Set":{"x":"1"}}],"URLRewrite":{"Path":"/v2"},
			           "RetryFilter":{"NumRetries":2,"RetryOn":["5xx"],"RetryOnStatusCodes":[503],"RetryOnConnectFailure":true},
			           "TimeoutFilter":{"RequestTimeout":"1.5s","IdleTimeout":"1m0s"}},
			"ResponseFilters":{"Headers":[{"Remove":["server"]}]},
			"Matches":[{"Headers":[{"Match":"present","Name":"x-debug"}],"Method":"GET","Path":{"Match":"prefix","Value":"/api"},
			            "Query":[{"Match":"exact","Name":"v","Value":"2"}]}],
			"Services":[{"Name":"web","Weight":3,"Filters":{},"ResponseFilters":{}}]}]}`,
	}, {
		entry: &consul.TCPRouteConfigEntry{
			ConfigEntryHeader: consul.ConfigEntryHeader{Name: "t"},
			Parents:           []consul.ConfigResourceReference{{Kind: consul.ConfigKindAPIGateway, Name: "gw"}},
			Services:          []consul.TCPRouteService{{Name: "db"}},
		},
		want: `{"Kind":"tcp-route","Name":"t","Parents":[{"Kind":"api-gateway","Name":"gw"}],"Services":[{"Name":"db"}]}`,
	}, {
		entry: &consul.InlineCertificateConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: "c"}, Certificate: "CERT", PrivateKey: "KEY"},
		want:  `{"Kind":"inline-certificate","Name":"c","Certificate":"CERT","PrivateKey":"KEY"}`,
	}, {
		entry: &consul.FileSystemCertificateConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: "c"}, Certificate: "/c.pem", PrivateKey: "/k.pem"},
		want:  `{"Kind":"file-system-certificate","Name":"c","Certificate":"/c.pem","PrivateKey":"/k.pem"}`,
	}} {
		w, c := newWire(t, reply{Body: "true"})
		require.NoError(t, c.ConfigEntries.Put(testCtx(t), tc.entry))
		r := w.only(t)
		r.expect(t, "PUT", "/v1/config", nil)
		assert.JSONEq(t, tc.want, r.Body)
	}

	// Consul's answers: nanosecond durations, nulls, the status.
	_, c := newWire(t, reply{Body: configTestHTTPRouteJSON})
	entry, _, err := c.ConfigEntries.Get(testCtx(t), consul.ConfigKindHTTPRoute, "r1")
	require.NoError(t, err)
	route, ok := entry.(*consul.HTTPRouteConfigEntry)
	require.True(t, ok, "%T", entry)
	assert.EqualValues(t, 23, route.ModifyIndex)
	assert.Equal(t, []consul.ConfigResourceReference{{Kind: "api-gateway", Name: "gw", SectionName: "l1"}}, route.Parents)
	require.Len(t, route.Rules, 1)
	rule := route.Rules[0]
	assert.Equal(t, &consul.HTTPRouteTimeoutFilter{RequestTimeout: 5 * time.Second, IdleTimeout: 30 * time.Second}, rule.Filters.TimeoutFilter)
	assert.Equal(t, &consul.HTTPRouteRetryFilter{NumRetries: 3, RetryOn: []string{"reset"}, RetryOnStatusCodes: []uint32{503}, RetryOnConnectFailure: true},
		rule.Filters.RetryFilter)
	assert.Equal(t, []consul.ConfigHTTPHeaderModifiers{{Add: map[string]string{"x-a": "1"}, Set: map[string]string{"x-s": "2"}, Remove: []string{"x-r"}}},
		rule.Filters.Headers)
	assert.Nil(t, rule.Filters.JWT)
	assert.Equal(t, consul.HTTPRouteMatch{Path: consul.HTTPRoutePathMatch{Match: "prefix", Value: "/"}}, rule.Matches[1])
	assert.Equal(t, "GET", rule.Matches[0].Method)
	assert.Equal(t, []consul.HTTPRouteQueryMatch{{Match: "present", Name: "q"}}, rule.Matches[0].Query)
	assert.Equal(t, "/", rule.Services[0].Filters.URLRewrite.Path)
	require.NotNil(t, route.Status)
	require.Len(t, route.Status.Conditions, 2)
	bound := route.Status.Conditions[1]
	assert.Equal(t, "Bound", bound.Type)
	assert.Equal(t, "FailedToBind", bound.Reason)
	assert.Equal(t, &consul.ConfigResourceReference{Kind: "api-gateway", Name: "gw", SectionName: "l1"}, bound.Resource)
	require.NotNil(t, bound.LastTransitionTime)
	assert.Equal(t, time.Date(2026, 11, 29, 20, 44, 56, 560548813, time.UTC), bound.LastTransitionTime.UTC())

	_, c = newWire(t, reply{Body: "[" + configTestAPIGatewayJSON + "]"})
	list, _, err := c.ConfigEntries.List(testCtx(t), consul.ConfigKindAPIGateway)
	require.NoError(t, err)
	require.Len(t, list, 1)
	gw, ok := list[0].(*consul.APIGatewayConfigEntry)
	require.True(t, ok, "%T", list[0])
	require.Len(t, gw.Listeners, 2)
	assert.Equal(t, consul.APIGatewayListener{
		Name: "l1", Hostname: "*.example.com", Port: 9090, Protocol: "http",
		TLS: consul.APIGatewayTLS{
			Certificates: []consul.ConfigResourceReference{{Kind: "inline-certificate", Name: "cert1"}},
			MinVersion:   "TLSv1_2", MaxVersion: "TLSv1_3", CipherSuites: []string{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
		},
		Override: &consul.APIGatewayPolicy{}, Default: &consul.APIGatewayPolicy{},
	}, gw.Listeners[0])
	assert.Equal(t, consul.APIGatewayListener{Name: "l2", Port: 9091, Protocol: "tcp"}, gw.Listeners[1])
	assert.Equal(t, "Accepted", gw.Status.Conditions[0].Type)
	assert.Equal(t, &consul.ConfigResourceReference{}, gw.Status.Conditions[0].Resource, "the entry itself")

	// The timeouts' codec: strings or nanoseconds; a timeout left out keeps
	// its value, as encoding/json keeps a field the input leaves out.
	tf := consul.HTTPRouteTimeoutFilter{RequestTimeout: time.Second, IdleTimeout: time.Hour}
	require.NoError(t, json.Unmarshal([]byte(`{"RequestTimeout":"250ms"}`), &tf))
	assert.Equal(t, consul.HTTPRouteTimeoutFilter{RequestTimeout: 250 * time.Millisecond, IdleTimeout: time.Hour}, tf)
	require.Error(t, json.Unmarshal([]byte(`{"IdleTimeout":"forever"}`), &tf))

	// Negative timeouts are refused before sending.
	w, c := newWire(t, reply{Body: "true"})
	configTestArg(t, c.ConfigEntries.Put(testCtx(t), &consul.HTTPRouteConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Name: "r"},
		Rules: []consul.HTTPRouteRule{{}, {Services: []consul.HTTPRouteService{{Name: "a"}, {Name: "b", Filters: consul.HTTPRouteFilters{
			TimeoutFilter: &consul.HTTPRouteTimeoutFilter{IdleTimeout: -time.Second}}}}}},
	}), "HTTPRouteConfigEntry.Rules[1].Services[1].Filters.TimeoutFilter.IdleTimeout")
	configTestArg(t, c.ConfigEntries.Put(testCtx(t), &consul.HTTPRouteConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Name: "r"},
		Rules: []consul.HTTPRouteRule{{Filters: consul.HTTPRouteFilters{
			TimeoutFilter: &consul.HTTPRouteTimeoutFilter{RequestTimeout: -time.Second}}}},
	}), "HTTPRouteConfigEntry.Rules[0].Filters.TimeoutFilter.RequestTimeout")
	w.noRequest(t)
}

// --- integration: a round trip of each kind against the agent ---

// configTestGatewaySetup writes what the kinds of the API gateway need
// around them: an inline certificate for host, a file-system certificate
// whose files the agent can read, and service-defaults making http the
// protocol of the services. It deletes them when the test ends.
func configTestGatewaySetup(t *testing.T, s *consul.ConfigEntriesService, inline, files string, httpServices ...string) {
	t.Helper()
	ctx := testCtx(t)
	cert, key := configTestCertificate(t, "gw.example.com")
	require.NoError(t, s.Put(ctx, &consul.InlineCertificateConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: inline}, Certificate: cert, PrivateKey: key}))
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cert.pem"), []byte(cert), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "key.pem"), []byte(key), 0o600))
	require.NoError(t, s.Put(ctx, &consul.FileSystemCertificateConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: files},
		Certificate: filepath.Join(dir, "cert.pem"), PrivateKey: filepath.Join(dir, "key.pem")}))
	for _, svc := range httpServices {
		require.NoError(t, s.Put(ctx, &consul.ServiceDefaultsConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: svc}, Protocol: "http"}))
	}
	t.Cleanup(func() {
		ctx := testCtx(t)
		_ = s.Delete(ctx, consul.ConfigKindInlineCertificate, inline)
		_ = s.Delete(ctx, consul.ConfigKindFileSystemCertificate, files)
		for _, svc := range httpServices {
			_ = s.Delete(ctx, consul.ConfigKindServiceDefaults, svc)
		}
	})
}

func TestConfigEntriesInlineCertificateIntegration(t *testing.T) {
	srv := testAgent(t)
	s := newClient(t, srv).ConfigEntries
	name := configTestName(t, "cert")
	t.Cleanup(func() { _ = s.Delete(testCtx(t), consul.ConfigKindInlineCertificate, name) })
	cert, key := configTestCertificate(t, "gw.example.com")

	want := &consul.InlineCertificateConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Name: name, Meta: map[string]string{"owner": "config-test"}},
		Certificate:       cert, PrivateKey: key,
	}
	configTestAllSet(t, configTestHeaderExcept, want)
	configTestPut(t, s, want, "", nil)
	// Consul stores both as they were sent, and returns the private key.
	want.Kind = consul.ConfigKindInlineCertificate
	assert.Equal(t, want, configTestGet(t, s, consul.ConfigKindInlineCertificate, name))

	// Consul checks the pair: a key of another certificate is refused
	// (a 500: Consul's validation errors), and nothing is stored.
	_, otherKey := configTestCertificate(t, "gw.example.com")
	bad := configTestName(t, "bad")
	err := s.Put(testCtx(t), &consul.InlineCertificateConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: bad}, Certificate: cert, PrivateKey: otherKey})
	configTestStatusError(t, err, 500, "private key does not match public key")
	err = s.Put(testCtx(t), &consul.InlineCertificateConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: bad}, Certificate: cert, PrivateKey: "not PEM"})
	configTestStatusError(t, err, 500, "failed to parse private key PEM")
	got, _, err := s.Get(testCtx(t), consul.ConfigKindInlineCertificate, bad)
	require.NoError(t, err)
	assert.Nil(t, got)
}

func TestConfigEntriesFileSystemCertificateIntegration(t *testing.T) {
	srv := testAgent(t)
	s := newClient(t, srv).ConfigEntries
	name := configTestName(t, "files")
	t.Cleanup(func() { _ = s.Delete(testCtx(t), consul.ConfigKindFileSystemCertificate, name) })
	cert, key := configTestCertificate(t, "gw.example.com")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cert.pem"), []byte(cert), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "key.pem"), []byte(key), 0o600))

	want := &consul.FileSystemCertificateConfigEntry{
		ConfigEntryHeader: consul.ConfigEntryHeader{Name: name, Meta: map[string]string{"owner": "config-test"}},
		Certificate:       filepath.Join(dir, "cert.pem"), PrivateKey: filepath.Join(dir, "key.pem"),
	}
	configTestAllSet(t, configTestHeaderExcept, want)
	configTestPut(t, s, want, "", nil)
	want.Kind = consul.ConfigKindFileSystemCertificate
	assert.Equal(t, want, configTestGet(t, s, consul.ConfigKindFileSystemCertificate, name))

	// The paths are the gateway's business: Consul takes paths that do
	// not exist on its own machine, unchecked.
	missing := &consul.FileSystemCertificateConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: name},
		Certificate: "/nonexistent/cert.pem", PrivateKey: "/nonexistent/key.pem"}
	require.NoError(t, s.Put(testCtx(t), missing))
	missing.Kind = consul.ConfigKindFileSystemCertificate
	assert.Equal(t, missing, configTestGet(t, s, consul.ConfigKindFileSystemCertificate, name))
}

func TestConfigEntriesAPIGatewayIntegration(t *testing.T) {
	srv := testAgent(t)
	s := newClient(t, srv).ConfigEntries
	name := configTestName(t, "gw")
	inline, files := configTestName(t, "inline"), configTestName(t, "files")
	configTestGatewaySetup(t, s, inline, files)
	t.Cleanup(func() { _ = s.Delete(testCtx(t), consul.ConfigKindAPIGateway, name) })

	kb := uint32(64)
	build := func() *consul.APIGatewayConfigEntry {
		return &consul.APIGatewayConfigEntry{
			ConfigEntryHeader: consul.ConfigEntryHeader{Name: name, Meta: map[string]string{"owner": "config-test"}},
			Listeners: []consul.APIGatewayListener{{
				Name: "web", Hostname: "*.example.com", Port: 9443, Protocol: "HTTP",
				TLS: consul.APIGatewayTLS{
					Certificates: []consul.ConfigResourceReference{
						{Name: inline},
						{Kind: consul.ConfigKindFileSystemCertificate, Name: files, SectionName: "unused"},
					},
					MinVersion: "TLSv1_2", MaxVersion: "TLSv1_3",
					CipherSuites: []string{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
				},
				// Consul CE takes only empty policies (see below).
				Override: &consul.APIGatewayPolicy{}, Default: &consul.APIGatewayPolicy{},
				MaxRequestHeadersKB: &kb,
			}, {
				Name: "db", Port: 9444, Protocol: "tcp",
			}},
		}
	}
	want := build()
	configTestAllSet(t, append([]string{
		"APIGatewayConfigEntry.Status",      // Consul's to write
		"APIGatewayPolicy.JWT",              // Consul Enterprise's
		"ConfigResourceReference.Partition", // Consul Enterprise's
		"ConfigResourceReference.Namespace", // Consul Enterprise's
		"ServiceIntentionsJWTProvider.Name", // (the types of JWT, Enterprise's)
		"ServiceIntentionsJWTProvider.VerifyClaims",
		"ServiceIntentionsJWT.Providers",
		"ServiceIntentionsJWTClaim.Path",
		"ServiceIntentionsJWTClaim.Value",
	}, configTestHeaderExcept...), want)
	newer := configTestPut(t, s, want, "Listeners[0].MaxRequestHeadersKB", func() { want.Listeners[0].MaxRequestHeadersKB = nil })
	got := configTestGet(t, s, consul.ConfigKindAPIGateway, name).(*consul.APIGatewayConfigEntry)

	// What Consul normalizes: listener protocols in lower case, the kind
	// of a certificate reference without one.
	expect := build()
	expect.Kind = consul.ConfigKindAPIGateway
	expect.Listeners[0].Protocol = "http"
	expect.Listeners[0].TLS.Certificates[0].Kind = consul.ConfigKindInlineCertificate
	if !newer {
		expect.Listeners[0].MaxRequestHeadersKB = nil
	}
	got.Status = nil // the controller's, checked below
	assert.Equal(t, expect, got)

	// Consul's controller accepts the gateway once it checked the
	// certificates, and reports it in the status.
	st := configTestStatus(t, s, consul.ConfigKindAPIGateway, name, "Accepted")
	accepted := configTestCondition(t, st, "Accepted", "", "", "")
	assert.Equal(t, "True", accepted.Status, "%+v", accepted)
	require.NotNil(t, accepted.LastTransitionTime)
	assert.WithinDuration(t, time.Now(), *accepted.LastTransitionTime, 5*time.Minute)
	st = configTestStatus(t, s, consul.ConfigKindAPIGateway, name, "ResolvedRefs")
	refs := configTestCondition(t, st, "ResolvedRefs", consul.ConfigKindAPIGateway, name, "web")
	assert.Equal(t, "True", refs.Status, "%+v", refs)

	// A status sent by a client is ignored: Consul keeps its own.
	read, _, err := s.Get(testCtx(t), consul.ConfigKindAPIGateway, name)
	require.NoError(t, err)
	gw := read.(*consul.APIGatewayConfigEntry)
	gw.Status = &consul.ConfigEntryStatus{Conditions: []consul.ConfigEntryCondition{{Type: "Forged", Status: "True"}}}
	require.NoError(t, s.Put(testCtx(t), gw))
	read, _, err = s.Get(testCtx(t), consul.ConfigKindAPIGateway, name)
	require.NoError(t, err)
	for _, c := range read.(*consul.APIGatewayConfigEntry).Status.Conditions {
		assert.NotEqual(t, "Forged", c.Type)
	}

	// What Consul CE refuses, and how.
	jwt := build()
	jwt.Listeners[0].MaxRequestHeadersKB = nil
	jwt.Listeners[0].Override.JWT = &consul.ServiceIntentionsJWT{Providers: []*consul.ServiceIntentionsJWTProvider{{Name: "okta"}}}
	err = s.Put(testCtx(t), jwt)
	configTestStatusError(t, err, 400, `invalid config key "Listeners[0].Override.JWT.Providers", api-gateway jwt validation is a consul enterprise feature`)
	err = s.Put(testCtx(t), &consul.APIGatewayConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: configTestName(t, "empty")}})
	configTestStatusError(t, err, 500, "api gateway must have at least one listener")
	err = s.Put(testCtx(t), &consul.APIGatewayConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: configTestName(t, "udp")},
		Listeners: []consul.APIGatewayListener{{Name: "l", Port: 53, Protocol: "udp"}}})
	configTestStatusError(t, err, 500, `unsupported listener protocol "udp"`)
}

func TestConfigEntriesHTTPRouteIntegration(t *testing.T) {
	srv := testAgent(t)
	s := newClient(t, srv).ConfigEntries
	name, gw := configTestName(t, "route"), configTestName(t, "gw")
	web, api := configTestName(t, "web"), configTestName(t, "api")
	inline, files := configTestName(t, "inline"), configTestName(t, "files")
	configTestGatewaySetup(t, s, inline, files, web, api)
	t.Cleanup(func() {
		_ = s.Delete(testCtx(t), consul.ConfigKindHTTPRoute, name)
		_ = s.Delete(testCtx(t), consul.ConfigKindAPIGateway, gw)
	})
	require.NoError(t, s.Put(testCtx(t), &consul.APIGatewayConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: gw},
		Listeners: []consul.APIGatewayListener{{Name: "web", Hostname: "*.example.com", Port: 9443, Protocol: "http",
			TLS: consul.APIGatewayTLS{Certificates: []consul.ConfigResourceReference{{Name: inline}}}}}}))

	build := func() *consul.HTTPRouteConfigEntry {
		filters := func(path string) consul.HTTPRouteFilters {
			return consul.HTTPRouteFilters{
				Headers: []consul.ConfigHTTPHeaderModifiers{{
					Add: map[string]string{"x-added": "1"}, Set: map[string]string{"x-set": "2"}, Remove: []string{"x-removed"},
				}},
				URLRewrite:    &consul.HTTPRouteURLRewrite{Path: path},
				RetryFilter:   &consul.HTTPRouteRetryFilter{NumRetries: 3, RetryOn: []string{"reset", "5xx"}, RetryOnStatusCodes: []uint32{502, 503}, RetryOnConnectFailure: true},
				TimeoutFilter: &consul.HTTPRouteTimeoutFilter{RequestTimeout: 1500 * time.Millisecond, IdleTimeout: 90 * time.Second},
			}
		}
		response := consul.HTTPRouteResponseFilters{Headers: []consul.ConfigHTTPHeaderModifiers{{Set: map[string]string{"x-served-by": "gw"}}}}
		return &consul.HTTPRouteConfigEntry{
			ConfigEntryHeader: consul.ConfigEntryHeader{Name: name, Meta: map[string]string{"owner": "config-test"}},
			Parents:           []consul.ConfigResourceReference{{Name: gw, SectionName: "web"}},
			Hostnames:         []string{"www.example.com", "api.example.com"},
			Rules: []consul.HTTPRouteRule{{
				Filters:         filters("/v2/"),
				ResponseFilters: response,
				Matches: []consul.HTTPRouteMatch{{
					Headers: []consul.HTTPRouteHeaderMatch{
						{Match: "exact", Name: "x-env", Value: "prod"}, {Match: "present", Name: "x-debug"},
					},
					Method: "post",
					Path:   consul.HTTPRoutePathMatch{Match: "prefix", Value: "/api/"},
					Query:  []consul.HTTPRouteQueryMatch{{Match: "regex", Name: "v", Value: "[0-9]+"}, {Match: "present", Name: "beta"}},
				}, {
					// No path: Consul fills in the prefix "/".
					Method: "GET",
				}},
				Services: []consul.HTTPRouteService{
					{Name: api, Weight: 90, Filters: filters("/"), ResponseFilters: response},
					{Name: web, Weight: 10},
				},
			}},
		}
	}
	want := build()
	configTestAllSet(t, append([]string{
		"HTTPRouteConfigEntry.Status",       // Consul's to write
		"HTTPRouteFilters.JWT",              // Consul Enterprise's
		"HTTPRouteService.Partition",        // Consul Enterprise's
		"HTTPRouteService.Namespace",        // Consul Enterprise's
		"ConfigResourceReference.Kind",      // filled in by Consul: see below
		"ConfigResourceReference.Partition", // Consul Enterprise's
		"ConfigResourceReference.Namespace", // Consul Enterprise's
	}, configTestHeaderExcept...), want)
	configTestPut(t, s, want, "", nil)
	got := configTestGet(t, s, consul.ConfigKindHTTPRoute, name).(*consul.HTTPRouteConfigEntry)

	// What Consul normalizes: the parent's kind, methods in upper case, a
	// match without a path matches the prefix "/".
	expect := build()
	expect.Kind = consul.ConfigKindHTTPRoute
	expect.Parents[0].Kind = consul.ConfigKindAPIGateway
	expect.Rules[0].Matches[0].Method = "POST"
	expect.Rules[0].Matches[1].Path = consul.HTTPRoutePathMatch{Match: "prefix", Value: "/"}
	got.Status = nil // the controller's, checked below
	assert.Equal(t, expect, got)

	// The route binds to the gateway's listener once Consul accepted both.
	st := configTestStatus(t, s, consul.ConfigKindHTTPRoute, name, "Accepted")
	assert.Equal(t, "True", configTestCondition(t, st, "Accepted", "", "", "").Status, "%+v", st)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		st = configTestStatus(t, s, consul.ConfigKindHTTPRoute, name, "Bound")
		if configTestCondition(t, st, "Bound", consul.ConfigKindAPIGateway, gw, "web").Status == "True" {
			break
		}
	}
	assert.Equal(t, "True", configTestCondition(t, st, "Bound", consul.ConfigKindAPIGateway, gw, "web").Status, "%+v", st)

	// A service without a weight: Consul 1.22 keeps 0, older versions set
	// it to 1.
	noWeight := build()
	noWeight.Rules[0].Services[1].Weight = 0
	require.NoError(t, s.Put(testCtx(t), noWeight))
	got = configTestGet(t, s, consul.ConfigKindHTTPRoute, name).(*consul.HTTPRouteConfigEntry)
	assert.Contains(t, []int{0, 1}, got.Rules[0].Services[1].Weight)

	// What Consul CE refuses, and how.
	jwt := build()
	jwt.Rules[0].Filters.JWT = &consul.ServiceIntentionsJWT{Providers: []*consul.ServiceIntentionsJWTProvider{{Name: "okta"}}}
	err := s.Put(testCtx(t), jwt)
	configTestStatusError(t, err, 400, `invalid config key "Rules[0].Filters.JWT.Providers", api-gateway jwt validation is a consul enterprise feature`)
	ns := build()
	ns.Rules[0].Services[0].Namespace = "team-a"
	err = s.Put(testCtx(t), ns)
	configTestStatusError(t, err, 400, `invalid config key "Rules[0].Services[0].Namespace", namespaces are a consul enterprise feature`)
	wild := build()
	wild.Hostnames = []string{"*.example.com"}
	err = s.Put(testCtx(t), wild)
	configTestStatusError(t, err, 500, `host "*.example.com" must not be a wildcard`)
}

func TestConfigEntriesTCPRouteIntegration(t *testing.T) {
	srv := testAgent(t)
	s := newClient(t, srv).ConfigEntries
	name, gw, db := configTestName(t, "route"), configTestName(t, "gw"), configTestName(t, "db")
	t.Cleanup(func() {
		_ = s.Delete(testCtx(t), consul.ConfigKindTCPRoute, name)
		_ = s.Delete(testCtx(t), consul.ConfigKindAPIGateway, gw)
	})
	require.NoError(t, s.Put(testCtx(t), &consul.APIGatewayConfigEntry{ConfigEntryHeader: consul.ConfigEntryHeader{Name: gw},
		Listeners: []consul.APIGatewayListener{{Name: "db", Port: 5432, Protocol: "tcp"}}}))

	build := func() *consul.TCPRouteConfigEntry {
		return &consul.TCPRouteConfigEntry{
			ConfigEntryHeader: consul.ConfigEntryHeader{Name: name, Meta: map[string]string{"owner": "config-test"}},
			Parents:           []consul.ConfigResourceReference{{Kind: consul.ConfigKindAPIGateway, Name: gw, SectionName: "db"}},
			Services:          []consul.TCPRouteService{{Name: db}},
		}
	}
	want := build()
	configTestAllSet(t, append([]string{
		"TCPRouteConfigEntry.Status",        // Consul's to write
		"TCPRouteService.Partition",         // Consul Enterprise's
		"TCPRouteService.Namespace",         // Consul Enterprise's
		"ConfigResourceReference.Partition", // Consul Enterprise's
		"ConfigResourceReference.Namespace", // Consul Enterprise's
	}, configTestHeaderExcept...), want)
	configTestPut(t, s, want, "", nil)
	got := configTestGet(t, s, consul.ConfigKindTCPRoute, name).(*consul.TCPRouteConfigEntry)
	expect := build()
	expect.Kind = consul.ConfigKindTCPRoute
	got.Status = nil // the controller's, checked below
	assert.Equal(t, expect, got, "nothing normalized")

	var st *consul.ConfigEntryStatus
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		st = configTestStatus(t, s, consul.ConfigKindTCPRoute, name, "Bound")
		if configTestCondition(t, st, "Bound", consul.ConfigKindAPIGateway, gw, "db").Status == "True" {
			break
		}
	}
	assert.Equal(t, "True", configTestCondition(t, st, "Bound", consul.ConfigKindAPIGateway, gw, "db").Status, "%+v", st)
	assert.Equal(t, "True", configTestCondition(t, st, "Accepted", "", "", "").Status, "%+v", st)

	// What Consul CE refuses, and how.
	two := build()
	two.Services = append(two.Services, consul.TCPRouteService{Name: db + "-2"})
	err := s.Put(testCtx(t), two)
	configTestStatusError(t, err, 500, "tcp-route currently only supports one service")
	ns := build()
	ns.Services[0].Partition = "p1"
	err = s.Put(testCtx(t), ns)
	configTestStatusError(t, err, 400, `invalid config key "Services[0].Partition"`)
}
