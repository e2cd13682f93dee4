package consul

import (
	"encoding/json"
	"time"
)

// --- jwt-provider ---

// JWTProviderConfigEntry is a jwt-provider entry: an issuer of JSON Web
// Tokens and how proxies verify its tokens, for the JWT requirements of
// service-intentions entries (and, on Consul Enterprise, of API gateways).
// It needs a JSONWebKeySet.
//
// Consul sets a ClockSkewSeconds of 0 to its default, 30. Field names are
// sent in Consul's CamelCase, which every version takes (Consul also takes
// the snake_case of config files for most of them).
type JWTProviderConfigEntry struct {
	ConfigEntryHeader
	// JSONWebKeySet is where the keys that sign the tokens are: exactly one
	// of Local and Remote.
	JSONWebKeySet *JWTProviderKeySet `json:",omitempty"`
	// Issuer must be the tokens' "iss" claim.
	Issuer string `json:",omitempty"`
	// Audiences, when set, must hold one of the tokens' "aud" claims.
	Audiences []string `json:",omitempty"`
	// Locations are where proxies look for a token; none means the
	// Authorization header ("Bearer ") and the access_token query parameter.
	Locations []*JWTProviderLocation `json:",omitempty"`
	// Forwarding forwards the verified token's payload to the service.
	Forwarding *JWTProviderForwarding `json:",omitempty"`
	// ClockSkewSeconds is the clock skew allowed when checking "exp" and
	// "nbf"; 0 means Consul's default of 30.
	ClockSkewSeconds int `json:",omitempty"`
	// CacheConfig caches the verification of tokens seen before.
	CacheConfig *JWTProviderCacheConfig `json:",omitempty"`
}

// MarshalJSON adds the Kind.
func (e JWTProviderConfigEntry) MarshalJSON() ([]byte, error) {
	type alias JWTProviderConfigEntry
	return json.Marshal(struct {
		Kind string
		alias
	}{ConfigKindJWTProvider, alias(e)})
}

func (*JWTProviderConfigEntry) configKind() string { return ConfigKindJWTProvider }

func (e *JWTProviderConfigEntry) configCheck(typ string) error {
	if e.JSONWebKeySet == nil || e.JSONWebKeySet.Remote == nil {
		return nil
	}
	r := e.JSONWebKeySet.Remote
	field := typ + ".JSONWebKeySet.Remote."
	if err := configCheckDuration(field+"CacheDuration", r.CacheDuration); err != nil {
		return err
	}
	if p := r.RetryPolicy; p != nil && p.RetryPolicyBackOff != nil {
		if err := configCheckDuration(field+"RetryPolicy.RetryPolicyBackOff.BaseInterval", p.RetryPolicyBackOff.BaseInterval); err != nil {
			return err
		}
		if err := configCheckDuration(field+"RetryPolicy.RetryPolicyBackOff.MaxInterval", p.RetryPolicyBackOff.MaxInterval); err != nil {
			return err
		}
	}
	if c := r.JWKSCluster; c != nil {
		return configCheckDuration(field+"JWKSCluster.ConnectTimeout", c.ConnectTimeout)
	}
	return nil
}

// JWTProviderKeySet is a JSON Web Key Set: exactly one of Local and
// Remote.
type JWTProviderKeySet struct {
	Local  *JWTProviderLocalKeySet  `json:",omitempty"`
	Remote *JWTProviderRemoteKeySet `json:",omitempty"`
}

// JWTProviderLocalKeySet is a key set given in the entry (JWKS, the JSON
// encoded in base64) or read from a file on every proxy's machine
// (Filename); exactly one of them.
type JWTProviderLocalKeySet struct {
	JWKS     string `json:",omitempty"`
	Filename string `json:",omitempty"`
}

// JWTProviderRemoteKeySet is a key set that proxies fetch from URI.
type JWTProviderRemoteKeySet struct {
	URI string `json:",omitempty"`
	// RequestTimeoutMs bounds a fetch, in milliseconds.
	RequestTimeoutMs int `json:",omitempty"`
	// CacheDuration is how long fetched keys are kept; zero means Envoy's
	// default of 10 minutes.
	CacheDuration time.Duration `json:",omitempty"`
	// FetchAsynchronously fetches the keys in the background instead of
	// holding the listener until they are fetched.
	FetchAsynchronously bool `json:",omitempty"`
	// UseSNI sends the URI's host name as SNI. Consul 1.21 and newer take
	// it; older ones refuse it (invalid config key).
	UseSNI      bool                    `json:",omitempty"`
	RetryPolicy *JWTProviderRetryPolicy `json:",omitempty"`
	// JWKSCluster is how proxies reach URI.
	JWKSCluster *JWTProviderJWKSCluster `json:",omitempty"`
}

// MarshalJSON writes CacheDuration in Consul's "10m0s" form.
func (r JWTProviderRemoteKeySet) MarshalJSON() ([]byte, error) {
	type alias JWTProviderRemoteKeySet
	return json.Marshal(struct {
		alias
		CacheDuration duration `json:",omitempty"`
	}{alias(r), duration(r.CacheDuration)})
}

// UnmarshalJSON reads CacheDuration as a string or nanoseconds (Consul
// answers with nanoseconds); left out, it keeps its value.
func (r *JWTProviderRemoteKeySet) UnmarshalJSON(b []byte) error {
	type alias JWTProviderRemoteKeySet
	w := struct {
		*alias
		CacheDuration duration
	}{(*alias)(r), duration(r.CacheDuration)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	r.CacheDuration = time.Duration(w.CacheDuration)
	return nil
}

// JWTProviderRetryPolicy retries failed fetches of a remote key set:
// NumRetries times (none by default), with a backoff.
type JWTProviderRetryPolicy struct {
	NumRetries         int                      `json:",omitempty"`
	RetryPolicyBackOff *JWTProviderRetryBackOff `json:",omitempty"`
}

// JWTProviderRetryBackOff is the backoff between fetches: from
// BaseInterval (Envoy's default 1s) up to MaxInterval (10 times
// BaseInterval by default), which must not be below BaseInterval.
type JWTProviderRetryBackOff struct {
	BaseInterval time.Duration `json:",omitempty"`
	MaxInterval  time.Duration `json:",omitempty"`
}

// MarshalJSON writes the intervals in Consul's "1s" form.
func (b JWTProviderRetryBackOff) MarshalJSON() ([]byte, error) {
	type alias JWTProviderRetryBackOff
	return json.Marshal(struct {
		alias
		BaseInterval duration `json:",omitempty"`
		MaxInterval  duration `json:",omitempty"`
	}{alias(b), duration(b.BaseInterval), duration(b.MaxInterval)})
}

// UnmarshalJSON reads the intervals as strings or nanoseconds (Consul
// answers with nanoseconds); an interval left out keeps its value.
func (b *JWTProviderRetryBackOff) UnmarshalJSON(data []byte) error {
	type alias JWTProviderRetryBackOff
	w := struct {
		*alias
		BaseInterval duration
		MaxInterval  duration
	}{(*alias)(b), duration(b.BaseInterval), duration(b.MaxInterval)}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	b.BaseInterval, b.MaxInterval = time.Duration(w.BaseInterval), time.Duration(w.MaxInterval)
	return nil
}

// JWTProviderJWKSCluster is the Envoy cluster that fetches a remote key
// set.
type JWTProviderJWKSCluster struct {
	// DiscoveryType is how the cluster resolves the URI's host:
	// "STRICT_DNS" (the default), "STATIC", "LOGICAL_DNS", "EDS" or
	// "ORIGINAL_DST".
	DiscoveryType string `json:",omitempty"`
	// TLSCertificates verifies the server's certificate; without it, it is
	// not verified.
	TLSCertificates *JWTProviderTLSCertificates `json:",omitempty"`
	// ConnectTimeout bounds a connection; zero means 5s.
	ConnectTimeout time.Duration `json:",omitempty"`
}

// MarshalJSON writes ConnectTimeout in Consul's "5s" form.
func (c JWTProviderJWKSCluster) MarshalJSON() ([]byte, error) {
	type alias JWTProviderJWKSCluster
	return json.Marshal(struct {
		alias
		ConnectTimeout duration `json:",omitempty"`
	}{alias(c), duration(c.ConnectTimeout)})
}

// UnmarshalJSON reads ConnectTimeout as a string or nanoseconds (Consul
// answers with nanoseconds); left out, it keeps its value.
func (c *JWTProviderJWKSCluster) UnmarshalJSON(b []byte) error {
	type alias JWTProviderJWKSCluster
	w := struct {
		*alias
		ConnectTimeout duration
	}{(*alias)(c), duration(c.ConnectTimeout)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	c.ConnectTimeout = time.Duration(w.ConnectTimeout)
	return nil
}

// JWTProviderTLSCertificates are the CA certificates that verify the key
// set's server: exactly one of CaCertificateProviderInstance and
// TrustedCA.
type JWTProviderTLSCertificates struct {
	CaCertificateProviderInstance *JWTProviderCertProviderInstance `json:",omitempty"`
	TrustedCA                     *JWTProviderTrustedCA            `json:",omitempty"`
}

// JWTProviderCertProviderInstance names an Envoy certificate provider
// instance (InstanceName, "default" by default) and the certificate in it
// (CertificateName, e.g. "ROOTCA").
type JWTProviderCertProviderInstance struct {
	InstanceName    string `json:",omitempty"`
	CertificateName string `json:",omitempty"`
}

// JWTProviderTrustedCA is CA certificate data: exactly one of a file, an
// environment variable, a string and bytes.
type JWTProviderTrustedCA struct {
	Filename            string `json:",omitempty"`
	EnvironmentVariable string `json:",omitempty"`
	InlineString        string `json:",omitempty"`
	InlineBytes         []byte `json:",omitempty"`
}

// MarshalJSON writes InlineBytes as an array of numbers, not in base64:
// Consul's decoder takes the text of a JSON string as the bytes themselves,
// so base64 would be stored as its own text, while an array is stored as
// its bytes. Consul answers with the bytes in base64, which encoding/json
// reads back into InlineBytes. This method stays hand-written: it is not a
// duration codec.
func (c JWTProviderTrustedCA) MarshalJSON() ([]byte, error) {
	type alias JWTProviderTrustedCA
	var nums []uint16 // uint16: encoding/json writes a []uint8 in base64
	if len(c.InlineBytes) > 0 {
		nums = make([]uint16, len(c.InlineBytes))
		for i, b := range c.InlineBytes {
			nums[i] = uint16(b)
		}
	}
	return json.Marshal(struct {
		alias
		InlineBytes []uint16 `json:",omitempty"`
	}{alias(c), nums})
}

// JWTProviderLocation is where a token is in a request: exactly one of a
// header, a query parameter and a cookie.
type JWTProviderLocation struct {
	Header     *JWTProviderLocationHeader     `json:",omitempty"`
	QueryParam *JWTProviderLocationQueryParam `json:",omitempty"`
	Cookie     *JWTProviderLocationCookie     `json:",omitempty"`
}

// JWTProviderLocationHeader is a header holding a token after ValuePrefix
// (e.g. "Bearer "); Forward keeps the header on the request to the
// service.
type JWTProviderLocationHeader struct {
	Name        string `json:",omitempty"`
	ValuePrefix string `json:",omitempty"`
	Forward     bool   `json:",omitempty"`
}

// JWTProviderLocationQueryParam is a query parameter holding a token.
type JWTProviderLocationQueryParam struct {
	Name string `json:",omitempty"`
}

// JWTProviderLocationCookie is a cookie holding a token.
type JWTProviderLocationCookie struct {
	Name string `json:",omitempty"`
}

// JWTProviderForwarding forwards the payload of a verified token to the
// service in the header HeaderName, in base64url, padded when
// PadForwardPayloadHeader is set.
type JWTProviderForwarding struct {
	HeaderName              string `json:",omitempty"`
	PadForwardPayloadHeader bool   `json:",omitempty"`
}

// JWTProviderCacheConfig caches the verification of up to Size tokens; 0
// caches none.
type JWTProviderCacheConfig struct {
	Size int `json:",omitempty"`
}
