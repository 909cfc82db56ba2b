//go:build e2e

package e2e

import (
	"context"
	"net/netip"
	"net/url"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argo-platform/argo-platform/tests/localcluster"
	"github.com/argo-platform/argo-platform/tests/netpol"
	"github.com/argo-platform/argo-platform/tests/realargo"
)

// checkEgress judges every connection the real controller and server have
// opened so far (strace's record of their connect and send calls, in every
// lifetime since startRealArgo, restarts included) by the NetworkPolicies
// as the real API server stores them, with netpol standing in for GKE
// Dataplane V2 (nothing enforces policies on the local API server). Each
// local address is first put where it is on GKE: the API server at the
// control plane's private endpoint, the sign-in issuer on the internet; the
// Auth Proxy's port and the component's own ports stay inside the pod (no
// policy judges a pod's loopback). A connection to anywhere else fails the
// test: Argo reaching something new needs a place on GKE and a rule.
func (l *liveArgo) checkEgress(t *testing.T, ctx context.Context) {
	g := netpol.GKE{Network: l.cfg.Settings.Network}
	c := netpol.Cluster{Namespaces: map[string]map[string]string{}, Services: g.Services()}
	pols, err := cluster.Client.NetworkingV1().NetworkPolicies("").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	c.Policies = pols.Items
	nss, err := cluster.Client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	for _, ns := range nss.Items {
		c.Namespaces[ns.Name] = ns.Labels
	}
	api, err := url.Parse(cluster.Server)
	require.NoError(t, err)
	apiAddr, err := netip.ParseAddrPort(api.Host)
	require.NoError(t, err)
	issuer, err := url.Parse(localcluster.SignInIssuer)
	require.NoError(t, err)
	issuerAddr, err := netip.ParseAddrPort(issuer.Host)
	require.NoError(t, err)

	for _, comp := range []*realargo.Component{l.Controller, l.Server} {
		dep, err := cluster.Client.AppsV1().Deployments(l.cfg.Argo.Namespace).Get(ctx, comp.Name, metav1.GetOptions{})
		require.NoError(t, err)
		pod := netpol.Pod{Namespace: dep.Namespace, Labels: dep.Spec.Template.Labels}
		inPod := realargo.ProxyPorts(dep.Spec.Template.Spec)
		for _, ct := range dep.Spec.Template.Spec.Containers {
			for _, p := range ct.Ports {
				inPod = append(inPod, int(p.ContainerPort))
			}
		}
		connects, err := l.Connects(comp.Name)
		require.NoError(t, err)
		require.NotEmpty(t, connects, "strace recorded %s's connections", comp.Name)
		var places []string
		for _, cn := range connects {
			var to netpol.Dest
			switch {
			case cn.Addr == apiAddr:
				to, places = g.APIServer(), append(places, "api-server")
			case cn.Addr == issuerAddr:
				to, places = g.Internet(443), append(places, "issuer")
			case cn.Addr.Addr().IsLoopback() && slices.Contains(inPod, int(cn.Addr.Port())):
				t.Logf("%s: %s stays inside the pod", comp.Name, cn)
				places = append(places, "pod")
				continue
			default:
				t.Errorf("%s connected to %s, which has no place on GKE here: say where it goes and which rule allows it", comp.Name, cn)
				continue
			}
			ok, by, err := c.Egress(pod, to)
			require.NoError(t, err)
			if assert.True(t, ok, "%s's %s (on GKE %s) is refused by its namespace's egress policies", comp.Name, cn, to) {
				t.Logf("%s: %s (on GKE %s) allowed by %s", comp.Name, cn, to, by)
			}
		}
		// The record is the real one: both components called the API
		// server, and argo-server its sign-in issuer's discovery.
		assert.Contains(t, places, "api-server", "%s's recorded connections", comp.Name)
		if comp == l.Server {
			assert.Contains(t, places, "issuer", "argo-server read its issuer")
		}
		// And the stored policies refuse what the pods must never do.
		for _, to := range []netpol.Dest{g.Database(5432), g.Node(10250), g.Internet(80)} {
			ok, _, err := c.Egress(pod, to)
			require.NoError(t, err)
			assert.False(t, ok, "%s must not reach %s", comp.Name, to)
		}
		if comp == l.Controller {
			ok, _, err := c.Egress(pod, g.Internet(443))
			require.NoError(t, err)
			assert.False(t, ok, "the controller reaches no public address")
		}
	}
}
