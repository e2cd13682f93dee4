package consul_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"testing"
	"time"

	"github.com/goconsul/consul"
	"github.com/stretchr/testify/require"
)

// aclTestJWTKey makes an ECDSA P-256 key and returns it with its public
// key in PEM, as a jwt auth method's JWTValidationPubKeys wants it.
func aclTestJWTKey(t *testing.T) (*ecdsa.PrivateKey, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	return key, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// aclTestJWT signs claims as an ES256 JWT.
func aclTestJWT(t *testing.T, key *ecdsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	enc := base64.RawURLEncoding
	header, err := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT"})
	require.NoError(t, err)
	payload, err := json.Marshal(claims)
	require.NoError(t, err)
	signed := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	sum := sha256.Sum256([]byte(signed))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	require.NoError(t, err)
	sig := make([]byte, 64) // ES256: r and s as 32 bytes each, big-endian
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signed + "." + enc.EncodeToString(sig)
}

// TestACLAuthMethodLogin creates a jwt auth method with a static public
// key and a binding rule, logs in with a JWT signed here, and logs out.
func TestACLAuthMethodLogin(t *testing.T) {
	srv, admin := aclTestAdmin(t)
	ctx := testCtx(t)
	key, pubPEM := aclTestJWTKey(t)
	name := aclTestName(t, "jwt")
	svc := aclTestName(t, "web")

	method, err := admin.ACL.CreateAuthMethod(ctx, &consul.ACLAuthMethod{
		Name: name, Type: "jwt", DisplayName: "test JWT", MaxTokenTTL: 10 * time.Minute, TokenLocality: "local",
		Config: map[string]any{
			"JWTValidationPubKeys": []string{pubPEM},
			"BoundIssuer":          "goconsul-test",
			"ClaimMappings":        map[string]string{"service": "service", "role": "role"},
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.ACL.DeleteAuthMethod(testCtx(t), name) })
	require.Equal(t, 10*time.Minute, method.MaxTokenTTL)
	require.Equal(t, "goconsul-test", method.Config["BoundIssuer"])

	read, meta, err := admin.ACL.GetAuthMethod(ctx, name)
	require.NoError(t, err)
	require.Equal(t, "test JWT", read.DisplayName)
	require.Equal(t, 10*time.Minute, read.MaxTokenTTL)
	require.NotZero(t, meta.Index)

	read.Description = "updated"
	updated, err := admin.ACL.UpdateAuthMethod(ctx, read)
	require.NoError(t, err)
	require.Equal(t, "updated", updated.Description)
	require.Equal(t, 10*time.Minute, updated.MaxTokenTTL)

	methods, _, err := admin.ACL.ListAuthMethods(ctx)
	require.NoError(t, err)
	var listed *consul.ACLAuthMethodListEntry
	for _, m := range methods {
		if m.Name == name {
			listed = m
		}
	}
	require.NotNil(t, listed)
	require.Equal(t, 10*time.Minute, listed.MaxTokenTTL)
	require.Equal(t, "updated", listed.Description)

	rule, err := admin.ACL.CreateBindingRule(ctx, &consul.ACLBindingRule{
		AuthMethod: name, Description: "web services",
		Selector: `value.role == "web"`, BindType: consul.ACLBindService, BindName: "${value.service}",
	})
	require.NoError(t, err)
	require.NotEmpty(t, rule.ID)
	gotRule, _, err := admin.ACL.GetBindingRule(ctx, rule.ID)
	require.NoError(t, err)
	require.Equal(t, `value.role == "web"`, gotRule.Selector)
	gotRule.Description = "web services, updated"
	gotRule, err = admin.ACL.UpdateBindingRule(ctx, gotRule)
	require.NoError(t, err)
	require.Equal(t, "web services, updated", gotRule.Description)
	rules, _, err := admin.ACL.ListBindingRules(ctx, name)
	require.NoError(t, err)
	require.Len(t, rules, 1)
	require.Equal(t, rule.ID, rules[0].ID)
	allRules, _, err := admin.ACL.ListBindingRules(ctx, "")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(allRules), 1)

	now := time.Now().Unix()
	claims := map[string]any{"iss": "goconsul-test", "sub": "tester", "iat": now, "nbf": now - 5, "exp": now + 300,
		"service": svc, "role": "web"}
	jwt := aclTestJWT(t, key, claims)

	anon := newClient(t, srv) // login needs no token
	tok, err := anon.ACL.Login(ctx, &consul.ACLLoginParams{AuthMethod: name, BearerToken: jwt, Meta: map[string]string{"host": "test"}})
	require.NoError(t, err)
	require.NotEmpty(t, tok.SecretID)
	require.Equal(t, name, tok.AuthMethod)
	require.True(t, tok.Local)
	require.Equal(t, []consul.ACLServiceIdentity{{ServiceName: svc}}, tok.ServiceIdentities)
	require.NotNil(t, tok.ExpirationTime, "MaxTokenTTL bounds the token")
	require.Contains(t, tok.Description, "host")

	byMethod, _, err := admin.ACL.ListTokens(ctx, &consul.ACLTokenFilter{AuthMethod: name})
	require.NoError(t, err)
	require.Len(t, byMethod, 1)
	require.Equal(t, tok.AccessorID, byMethod[0].AccessorID)
	byService, _, err := admin.ACL.ListTokens(ctx, &consul.ACLTokenFilter{ServiceName: svc})
	require.NoError(t, err)
	require.Len(t, byService, 1)

	// A JWT the selector does not match, and one signed by another key, are refused.
	claims["role"] = "db"
	_, err = anon.ACL.Login(ctx, &consul.ACLLoginParams{AuthMethod: name, BearerToken: aclTestJWT(t, key, claims)})
	require.ErrorIs(t, err, consul.ErrPermissionDenied)
	other, _ := aclTestJWTKey(t)
	claims["role"] = "web"
	forged := aclTestJWT(t, other, claims)
	_, err = anon.ACL.Login(ctx, &consul.ACLLoginParams{AuthMethod: name, BearerToken: forged})
	require.Equal(t, 500, aclStatus(err), "Consul 1.19 answers a bad signature with a 500: %v", err)
	require.NotContains(t, err.Error(), forged)

	// Logout destroys the login token; it refuses other tokens.
	require.ErrorIs(t, admin.ACL.Logout(ctx), consul.ErrPermissionDenied, "the management token was not made by login")
	require.Equal(t, 401, aclStatus(anon.ACL.Logout(ctx)), "no token")
	require.NoError(t, anon.ACL.Logout(ctx, consul.Token(tok.SecretID)))
	gone, _, err := admin.ACL.GetToken(ctx, tok.AccessorID)
	require.NoError(t, err)
	require.Nil(t, gone)

	require.NoError(t, admin.ACL.DeleteBindingRule(ctx, rule.ID))
	goneRule, _, err := admin.ACL.GetBindingRule(ctx, rule.ID)
	require.NoError(t, err)
	require.Nil(t, goneRule)
	require.NoError(t, admin.ACL.DeleteAuthMethod(ctx, name))
	goneMethod, _, err := admin.ACL.GetAuthMethod(ctx, name)
	require.NoError(t, err)
	require.Nil(t, goneMethod)
}
