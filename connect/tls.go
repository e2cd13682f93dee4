package connect

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/goconsul/consul"
)

// identity is one immutable pair of a leaf certificate and the CA roots,
// swapped in as a whole whenever either changes.
type identity struct {
	leaf     *consul.AgentLeafCert
	cert     *tls.Certificate  // the leaf and its chain, with its key
	leafX509 *x509.Certificate // cert.Leaf
	id       ServiceID         // the leaf's own SPIFFE ID

	roots        *consul.ConnectCARoots
	rootPool     *x509.CertPool
	interPool    *x509.CertPool // the roots' intermediates (cross-signed roots)
	trustDomains []string
}

// parseLeaf parses the agent's leaf certificate: its chain (the leaf, then
// the intermediates Consul appends) and its key.
func parseLeaf(leaf *consul.AgentLeafCert) (*tls.Certificate, ServiceID, error) {
	cert, err := tls.X509KeyPair([]byte(leaf.CertPEM), []byte(leaf.PrivateKeyPEM))
	if err != nil {
		return nil, ServiceID{}, fmt.Errorf("connect: the agent's leaf certificate: %w", err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, ServiceID{}, fmt.Errorf("connect: the agent's leaf certificate: %w", err)
		}
	}
	id, err := certServiceID(cert.Leaf)
	if err != nil {
		return nil, ServiceID{}, fmt.Errorf("connect: the agent's leaf certificate: %w", err)
	}
	return &cert, id, nil
}

// parsedRoots is the trust material of an answer of the roots endpoint.
type parsedRoots struct {
	roots        *consul.ConnectCARoots
	rootPool     *x509.CertPool
	interPool    *x509.CertPool
	trustDomains []string
}

// parseRoots parses every trusted root and its intermediates. The trust
// domains accepted are the cluster's (roots.TrustDomain) and those of
// roots kept from an earlier trust domain (ExternalTrustDomain, which
// Consul fills with the cluster ID the root was made under).
func parseRoots(roots *consul.ConnectCARoots) (*parsedRoots, error) {
	p := &parsedRoots{roots: roots, rootPool: x509.NewCertPool(), interPool: x509.NewCertPool()}
	n := 0
	for _, r := range roots.Roots {
		if r == nil {
			continue
		}
		certs, err := parsePEMCerts(r.RootCert)
		if err != nil {
			return nil, fmt.Errorf("connect: CA root %s: %w", r.ID, err)
		}
		for _, c := range certs {
			p.rootPool.AddCert(c)
			n++
		}
		for _, ipem := range r.IntermediateCerts {
			inter, err := parsePEMCerts(ipem)
			if err != nil {
				return nil, fmt.Errorf("connect: intermediate of CA root %s: %w", r.ID, err)
			}
			for _, c := range inter {
				p.interPool.AddCert(c)
			}
		}
		if td := r.ExternalTrustDomain; td != "" {
			if !strings.Contains(td, ".") {
				td += ".consul"
			}
			p.trustDomains = append(p.trustDomains, strings.ToLower(td))
		}
	}
	if n == 0 {
		return nil, errors.New("connect: the agent returned no CA root")
	}
	if roots.TrustDomain == "" {
		return nil, errors.New("connect: the agent's CA roots have no trust domain")
	}
	p.trustDomains = append(p.trustDomains, strings.ToLower(roots.TrustDomain))
	slices.Sort(p.trustDomains)
	p.trustDomains = slices.Compact(p.trustDomains)
	return p, nil
}

func parsePEMCerts(s string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate")
	}
	return out, nil
}

// PeerCertError is the error of a handshake whose peer presented no
// certificate, or one that does not verify: not signed by the current
// Consul CA roots, expired or not yet valid, without a service's SPIFFE ID,
// from another trust domain, or (on the client side) of another service
// than the target. Err is the underlying error (an x509 error, or one
// matching ErrNotServiceID).
type PeerCertError struct {
	// Peer is the peer's SPIFFE ID, or its certificate's subject when it
	// has none; empty when it presented no certificate. Characters that do
	// not print (a newline in a hostile subject...) are written as Go
	// escapes (\n), here and in Error.
	Peer string
	// Reason says what is wrong, for people.
	Reason string
	Err    error
}

func (e *PeerCertError) Error() string {
	var b strings.Builder
	b.WriteString("connect: peer certificate")
	if e.Peer != "" {
		b.WriteString(" " + e.Peer)
	}
	b.WriteString(" refused: " + e.Reason)
	if e.Err != nil {
		b.WriteString(": " + strings.TrimPrefix(e.Err.Error(), "connect: "))
	}
	// Most of it comes from the peer's certificate: never a line break or
	// a terminal escape in a log.
	return escapeControl(b.String())
}

func (e *PeerCertError) Unwrap() error { return e.Err }

// verifyPeer verifies a peer's chain against the identity's roots at now,
// for the usage the peer's side needs, and returns its service ID.
func (in *identity) verifyPeer(certs []*x509.Certificate, usage x509.ExtKeyUsage, now time.Time) (ServiceID, error) {
	if len(certs) == 0 {
		return ServiceID{}, &PeerCertError{Reason: "no certificate presented"}
	}
	leaf := certs[0]
	name := leaf.Subject.String()
	if len(leaf.URIs) > 0 {
		uris := make([]string, len(leaf.URIs))
		for i, u := range leaf.URIs {
			uris[i] = u.String()
		}
		name = strings.Join(uris, ", ")
	}
	name = escapeControl(name)
	inter := in.interPool
	if len(certs) > 1 {
		inter = in.interPool.Clone()
		for _, c := range certs[1:] {
			inter.AddCert(c)
		}
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots: in.rootPool, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{usage},
	})
	if err != nil {
		reason := "not signed by the Consul CA"
		var ie x509.CertificateInvalidError
		if errors.As(err, &ie) && ie.Reason == x509.Expired {
			reason = fmt.Sprintf("expired or not yet valid (valid from %s to %s)",
				leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
		}
		return ServiceID{}, &PeerCertError{Peer: name, Reason: reason, Err: err}
	}
	id, err := certServiceID(leaf)
	if err != nil {
		return ServiceID{}, &PeerCertError{Peer: name, Reason: "no service SPIFFE ID", Err: err}
	}
	if !slices.Contains(in.trustDomains, strings.ToLower(id.TrustDomain)) {
		return ServiceID{}, &PeerCertError{Peer: name,
			Reason: fmt.Sprintf("trust domain %s is not the cluster's (%s)", id.TrustDomain, strings.Join(in.trustDomains, ", "))}
	}
	return id, nil
}

// ownCert returns the leaf to present, or why there is none: not ready,
// closed, or expired (the agent could not renew it in time).
func (s *Service) ownCert() (*tls.Certificate, *identity, error) {
	in, err := s.current()
	if err != nil {
		return nil, nil, err
	}
	if now := time.Now(); now.After(in.leafX509.NotAfter) {
		err := fmt.Errorf("connect: the leaf certificate of %s expired at %s and the agent has not renewed it",
			s.name, in.leafX509.NotAfter.UTC().Format(time.RFC3339))
		if werr := s.Err(); werr != nil {
			err = fmt.Errorf("%w (last error: %w)", err, werr)
		}
		return nil, nil, err
	}
	return in.cert, in, nil
}

// ServerTLSConfig returns a TLS configuration for servers of the service:
// give it to an http.Server (as TLSConfig, then ServeTLS with empty file
// names), to tls.NewListener, or to tls.Server. Each handshake uses the
// Service's current state, so that leaf renewals and CA rotations apply
// to new connections without a restart; established connections are
// never cut. The configuration:
//
//   - presents the current leaf certificate (GetCertificate);
//   - requires a client certificate, verified against the current CA roots
//     (a chain through a cross-signed intermediate of a rotation included)
//     for client authentication at the time of the handshake;
//   - requires the client's only URI SAN to be a service's SPIFFE ID in the
//     cluster's trust domain;
//   - authorizes the client's service by the intentions: POST
//     /v1/agent/connect/authorize, each decision cached for the
//     authorization TTL (WithAuthorizeCacheTTL; see there for the agent
//     being unreachable).
//
// A client refused for any of these reasons fails the handshake: the
// server's Handshake returns a *PeerCertError or an error matching
// ErrNotAuthorized, and the client gets a TLS alert (with TLS 1.3, at its
// first read, since its side of the handshake ends first).
//
// Before the first certificate, handshakes fail at once with an error
// matching ErrNotReady (they never block, and never present an empty
// certificate): call WaitReady before serving. After Close they fail with
// ErrClosed. The returned config may be cloned and changed (NextProtos,
// MinVersion...); keep its callbacks.
func (s *Service) ServerTLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			cert, _, err := s.ownCert()
			return cert, err
		},
		// The chain is verified against the current roots in
		// VerifyConnection: ClientCAs would be fixed at creation.
		ClientAuth: tls.RequireAnyClientCert,
		VerifyConnection: func(cs tls.ConnectionState) error {
			in, err := s.current()
			if err != nil {
				return err
			}
			id, err := in.verifyPeer(cs.PeerCertificates, x509.ExtKeyUsageClientAuth, time.Now())
			if err != nil {
				return err
			}
			return s.authz.authorize(s.ctx, id, cs.PeerCertificates[0])
		},
	}
}

// ClientTLSConfig returns a TLS configuration for connections of the
// service to target, a service name. Each handshake presents the current
// leaf certificate (GetClientCertificate) and requires the server's
// certificate to verify against the current CA roots for server
// authentication and to carry the SPIFFE ID of target, in the cluster's
// trust domain and in this service's namespace and partition (a sidecar
// proxy in front of target presents target's ID too). Names and IP
// addresses in the certificate are not used: the SPIFFE ID is the
// identity. A refused server fails the handshake with a *PeerCertError.
//
// Before the first certificate, handshakes fail at once with an error
// matching ErrNotReady; after Close, with ErrClosed. Dial and HTTPClient
// wait for readiness within their context instead.
func (s *Service) ClientTLSConfig(target string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The standard verification (names, fixed RootCAs) is replaced by
		// VerifyConnection's, against the current roots and the SPIFFE ID.
		InsecureSkipVerify: true,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			cert, _, err := s.ownCert()
			return cert, err
		},
		VerifyConnection: func(cs tls.ConnectionState) error {
			in, err := s.current()
			if err != nil {
				return err
			}
			return in.verifyServer(cs.PeerCertificates, target, time.Now())
		},
	}
}

// verifyServer verifies a server's chain and that it is target's.
func (in *identity) verifyServer(certs []*x509.Certificate, target string, now time.Time) error {
	if target == "" {
		return &PeerCertError{Reason: "no target service given"}
	}
	id, err := in.verifyPeer(certs, x509.ExtKeyUsageServerAuth, now)
	if err != nil {
		return err
	}
	if id.Service != target || id.Namespace != in.id.Namespace || id.Partition != in.id.Partition {
		return &PeerCertError{Peer: id.String(), Reason: fmt.Sprintf("not service %s (namespace %s, partition %s)",
			target, in.id.Namespace, in.id.Partition)}
	}
	return nil
}
