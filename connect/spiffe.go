package connect

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ServiceID is the identity of a service in Consul's service mesh: the
// SPIFFE ID that Consul's CA writes as the only URI SAN of a service's
// leaf certificate,
//
//	spiffe://<trust-domain>/ns/<namespace>/dc/<datacenter>/svc/<service>
//
// with /ap/<partition> before /ns on Consul Enterprise for a partition
// other than "default".
type ServiceID struct {
	// TrustDomain is the cluster's trust domain, e.g.
	// "9a1aa196-7860-c8dd-7fed-23c267892ef1.consul".
	TrustDomain string
	// Partition is "default" when the ID has no /ap/ segment.
	Partition  string
	Namespace  string
	Datacenter string
	Service    string
}

// String returns the ID as a spiffe:// URI, as Consul writes it.
func (id ServiceID) String() string {
	u := url.URL{Scheme: "spiffe", Host: id.TrustDomain}
	var b strings.Builder
	if id.Partition != "" && id.Partition != "default" {
		b.WriteString("/ap/" + url.PathEscape(id.Partition))
	}
	b.WriteString("/ns/" + url.PathEscape(id.Namespace))
	b.WriteString("/dc/" + url.PathEscape(id.Datacenter))
	b.WriteString("/svc/" + url.PathEscape(id.Service))
	u.RawPath = b.String()
	u.Path, _ = url.PathUnescape(u.RawPath)
	return u.String()
}

// ErrNotServiceID is the error of ParseServiceID and PeerServiceID for a
// URI or certificate that is not a service's SPIFFE ID.
var ErrNotServiceID = errors.New("not a Consul service SPIFFE ID")

// ParseServiceID parses a service's SPIFFE ID (see ServiceID). Other
// SPIFFE IDs of Consul (an agent's, a mesh gateway's, the CA's signing
// ID) and anything else are refused with an error matching
// ErrNotServiceID.
func ParseServiceID(uri string) (ServiceID, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return ServiceID{}, fmt.Errorf("connect: %q: %w: %w", uri, ErrNotServiceID, err)
	}
	return parseServiceURL(u)
}

func parseServiceURL(u *url.URL) (ServiceID, error) {
	bad := func(why string) (ServiceID, error) {
		return ServiceID{}, fmt.Errorf("connect: %q: %w: %s", u.String(), ErrNotServiceID, why)
	}
	switch {
	case u.Scheme != "spiffe":
		return bad("the scheme is not spiffe")
	case u.Host == "" || u.Port() != "":
		return bad("no trust domain")
	case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Opaque != "":
		return bad("a user, query or fragment")
	}
	segs := strings.Split(u.EscapedPath(), "/")
	// "", ["ap", partition,] "ns", ns, "dc", dc, "svc", name
	if len(segs) < 1 || segs[0] != "" {
		return bad("not a service path")
	}
	segs = segs[1:]
	if !printable(u.Host) {
		return bad("a trust domain with characters that do not print")
	}
	id := ServiceID{TrustDomain: u.Host, Partition: "default"}
	if len(segs) == 8 && segs[0] == "ap" {
		p, err := url.PathUnescape(segs[1])
		if err != nil || p == "" || !printable(p) {
			return bad("an invalid partition")
		}
		id.Partition = strings.ToLower(p)
		segs = segs[2:]
	}
	if len(segs) != 6 || segs[0] != "ns" || segs[2] != "dc" || segs[4] != "svc" {
		return bad("not a service path (/ns/<ns>/dc/<dc>/svc/<name>)")
	}
	var vals [3]string
	for i, s := range []string{segs[1], segs[3], segs[5]} {
		v, err := url.PathUnescape(s)
		if err != nil || v == "" || strings.ContainsAny(v, "/") || !printable(v) {
			return bad("an empty or invalid segment")
		}
		vals[i] = v
	}
	id.Namespace, id.Datacenter, id.Service = vals[0], vals[1], vals[2]
	return id, nil
}

// printable reports whether s is UTF-8 with only printable characters
// (spaces other than ASCII's included among those that do not print): the
// segments of an ID are names that end up in logs, and a certificate must
// not be able to write a newline or a terminal escape there.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// escapeControl returns s with every character that does not print (and
// every byte that is not UTF-8) written as a Go escape (\n, \x1b, \u2028),
// so that text from a peer's certificate stays on one line of a log.
// Printable text, backslashes included, is unchanged, so that escaping
// twice is escaping once.
func escapeControl(s string) string {
	if printable(s) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], string(utf8.RuneError)):
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case unicode.IsPrint(r):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		}
	}
	return b.String()
}

// certServiceID returns the service ID of a certificate: its only URI SAN,
// which must be a service's SPIFFE ID (an X.509 SVID has exactly one).
func certServiceID(cert *x509.Certificate) (ServiceID, error) {
	switch len(cert.URIs) {
	case 1:
		return parseServiceURL(cert.URIs[0])
	case 0:
		return ServiceID{}, fmt.Errorf("connect: %w: the certificate has no URI SAN", ErrNotServiceID)
	default:
		return ServiceID{}, fmt.Errorf("connect: %w: the certificate has %d URI SANs, not one", ErrNotServiceID, len(cert.URIs))
	}
}

// PeerServiceID returns the service ID of the peer of a TLS connection
// (its certificate's SPIFFE ID), e.g. the caller of an HTTP handler served
// with ServerTLSConfig: PeerServiceID(r.TLS). It reads the certificate
// without verifying it: the handshake of ServerTLSConfig and
// ClientTLSConfig did. A nil state or a peer without a certificate is an
// error matching ErrNotServiceID.
func PeerServiceID(cs *tls.ConnectionState) (ServiceID, error) {
	if cs == nil || len(cs.PeerCertificates) == 0 || cs.PeerCertificates[0] == nil {
		return ServiceID{}, fmt.Errorf("connect: %w: no peer certificate", ErrNotServiceID)
	}
	return certServiceID(cs.PeerCertificates[0])
}
