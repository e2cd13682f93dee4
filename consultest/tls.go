package consultest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// TLSFiles are the certificates of an agent started with Config.TLS: a CA
// made for that agent alone, the agent's certificate signed by it, and a
// client certificate signed by it.
type TLSFiles struct {
	// CAPEM is the CA certificate, PEM-encoded; CAFile holds it, and CADir
	// is a directory whose only file is CAFile.
	CAPEM  []byte
	CAFile string
	CADir  string
	// CertFile and KeyFile are a client certificate signed by the CA and
	// its key, PEM-encoded; CertPEM and KeyPEM are their contents.
	CertFile string
	KeyFile  string
	CertPEM  []byte
	KeyPEM   []byte
	// ServerName is the name in the agent's certificate,
	// "server.<datacenter>.consul". The certificate names no IP address,
	// so a client that checks it must be told this name.
	ServerName string

	serverCert, serverKey string // the agent's certificate and key files
}

// clientConfig is what consultest's own probes of the agent use.
func (f *TLSFiles) clientConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(f.CAPEM)
	cert, err := tls.X509KeyPair(f.CertPEM, f.KeyPEM)
	if err != nil {
		panic(err) // made by writeTLSFiles just before
	}
	return &tls.Config{RootCAs: pool, ServerName: f.ServerName, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

// writeTLSFiles makes a CA, a server certificate for
// server.<dc>.consul and localhost, and a client certificate, and writes
// them under dir.
func writeTLSFiles(dir, dc string) (*TLSFiles, error) {
	f := &TLSFiles{
		CADir:      filepath.Join(dir, "ca"),
		ServerName: "server." + dc + ".consul",
	}
	if err := os.MkdirAll(f.CADir, 0o700); err != nil {
		return nil, fmt.Errorf("consultest: %w", err)
	}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("consultest: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "consultest CA " + dc},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("consultest: CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("consultest: %w", err)
	}
	f.CAPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	f.CAFile = filepath.Join(f.CADir, "ca.pem")

	leaf := func(cn string, dns []string, usage []x509.ExtKeyUsage) (certPEM, keyPEM []byte, err error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: serial(),
			Subject:      pkix.Name{CommonName: cn},
			DNSNames:     dns,
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(7 * 24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			ExtKeyUsage:  usage,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return nil, nil, err
		}
		kb, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return nil, nil, err
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), nil
	}
	srvCert, srvKey, err := leaf(f.ServerName, []string{f.ServerName, "localhost"},
		[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth})
	if err != nil {
		return nil, fmt.Errorf("consultest: server certificate: %w", err)
	}
	f.CertPEM, f.KeyPEM, err = leaf("consultest client", nil, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth})
	if err != nil {
		return nil, fmt.Errorf("consultest: client certificate: %w", err)
	}
	f.serverCert, f.serverKey = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem")
	f.CertFile, f.KeyFile = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem")
	for path, b := range map[string][]byte{
		f.CAFile: f.CAPEM, f.serverCert: srvCert, f.serverKey: srvKey, f.CertFile: f.CertPEM, f.KeyFile: f.KeyPEM,
	} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, fmt.Errorf("consultest: %w", err)
		}
	}
	return f, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand never fails on supported systems
	}
	return n
}
