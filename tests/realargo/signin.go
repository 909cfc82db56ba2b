package realargo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/argo-platform/argo-platform/stacks"
	"github.com/argo-platform/argo-platform/tests/localcluster"
)

// SignIn plays Google's sign-in for argo-server: a real OpenID Connect
// provider (mockoidc, from the module proxy) at localcluster.SignInIssuer,
// that knows the stack's OAuth client and signs RS256 ID tokens for
// whoever a test signs in as. What it does not check that Google does: a
// password, and whether the e-mail belongs to a Google account (it signs
// in whoever it is told to, with email_verified true).
type SignIn struct {
	idp *mockoidc.MockOIDC
	// mu keeps one sign-in at a time: the provider signs in the person
	// queued last.
	mu sync.Mutex
}

// StartSignIn starts the provider for the stack's OAuth client
// (access.ssoClientId and the ssoClientSecret the deploy was given).
func StartSignIn(cfg *stacks.Loaded) (*SignIn, error) {
	u, err := url.Parse(localcluster.SignInIssuer)
	if err != nil {
		return nil, err
	}
	idp, err := mockoidc.NewServer(nil)
	if err != nil {
		return nil, err
	}
	idp.ClientID, idp.ClientSecret = cfg.Access.ClientID, cfg.SSOClientSecret
	ln, err := net.Listen("tcp", u.Host)
	if err != nil {
		return nil, fmt.Errorf("realargo: the sign-in stand-in: %w", err)
	}
	if err := idp.Start(ln, nil); err != nil {
		return nil, err
	}
	if idp.Issuer() != localcluster.SignInIssuer {
		_ = idp.Shutdown()
		return nil, fmt.Errorf("realargo: the sign-in stand-in's issuer is %s, not %s", idp.Issuer(), localcluster.SignInIssuer)
	}
	return &SignIn{idp: idp}, nil
}

// Stop ends the provider.
func (s *SignIn) Stop() { _ = s.idp.Shutdown() }

// Login signs email in to the real argo-server as a browser does: the
// server's /oauth2/redirect sends it to the provider, which signs it in and
// sends it back to the server's callback on the UI's host (here the
// server's own address), which sets the session cookie. It returns the
// session, as the Authorization header's value.
func (s *SignIn) Login(ctx context.Context, email string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	local, _, _ := strings.Cut(email, "@")
	s.idp.QueueUser(&mockoidc.MockUser{Subject: "sub-" + local, Email: email, EmailVerified: true, PreferredUsername: local})
	jar, err := cookiejar.New(nil)
	if err != nil {
		return "", err
	}
	server, _ := url.Parse(ServerURL)
	client := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		// The callback names the UI's host behind IAP; the browser here
		// reaches the server directly.
		if req.URL.Path == "/oauth2/callback" {
			req.URL.Scheme, req.URL.Host = server.Scheme, server.Host
			req.Host = server.Host
		}
		return nil
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ServerURL+"/oauth2/redirect", nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("realargo: sign-in of %s: %w", email, err)
	}
	resp.Body.Close()
	for _, c := range jar.Cookies(server) {
		if c.Name == "authorization" && c.Value != "" {
			v, err := url.QueryUnescape(c.Value)
			if err != nil {
				return "", err
			}
			return v, nil
		}
	}
	return "", errors.New("realargo: sign-in of " + email + ": the server set no session (status " + resp.Status + ")")
}
