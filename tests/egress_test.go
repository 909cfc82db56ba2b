package tests

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/argo-platform/argo-platform/tests/netpol"
)

// registeredCluster is the stack's NetworkPolicies and namespaces as the
// program registers them, for the data plane's stand-in (tests/netpol).
func registeredCluster(t *testing.T, r *run) netpol.Cluster {
	t.Helper()
	g := netpol.GKE{Network: r.cfg.Settings.Network}
	c := netpol.Cluster{
		Namespaces: map[string]map[string]string{"kube-system": {"kubernetes.io/metadata.name": "kube-system"}},
		Services:   g.Services(),
	}
	for _, ns := range r.rec.OfType("kubernetes:core/v1:Namespace") {
		name := Str(ns.Inputs, "metadata.name")
		require.NotEmpty(t, name)
		// The API server labels every namespace with its name.
		c.Namespaces[name] = map[string]string{"kubernetes.io/metadata.name": name}
	}
	for _, np := range r.rec.OfType("kubernetes:networking.k8s.io/v1:NetworkPolicy") {
		require.False(t, np.Inputs.ContainsUnknowns(), "%s is known at preview", np.Name)
		raw, err := json.Marshal(np.Inputs.Mappable())
		require.NoError(t, err)
		var p networkingv1.NetworkPolicy
		require.NoError(t, json.Unmarshal(raw, &p), np.Name)
		c.Policies = append(c.Policies, p)
	}
	return c
}

// podOf is a pod of the Deployment or Job named name, by its template.
func podOf(t *testing.T, r *run, typ, name string) netpol.Pod {
	t.Helper()
	res := kube(t, r.rec, typ, name)
	labels := map[string]string{}
	for k, v := range Prop(res.Inputs, "spec.template.metadata.labels").ObjectValue() {
		labels[string(k)] = unwrap(v).StringValue()
	}
	require.NotEmpty(t, labels, "%s's pods carry labels", name)
	return netpol.Pod{Namespace: Str(res.Inputs, "metadata.namespace"), Labels: labels}
}

// TestArgosPodsReachOnlyWhatTheyNeed judges every connection Argo's pods
// make on GKE, and some they must not, by the stack's NetworkPolicies and
// Kubernetes' rules (tests/netpol stands in for Dataplane V2): each pod
// reaches DNS, the API server, the metadata server and Google's APIs; the
// Auth Proxies reach Cloud SQL's 3307, and only from Argo's home;
// argo-server alone reaches a public address on 443 (its sign-in issuer);
// nothing reaches the instance's 5432, a node, another pod, or the
// internet otherwise. The e2e judges the real controller's and server's
// own connections the same way (TestStacks "Argo's pods connect only
// where their egress policies allow").
func TestArgosPodsReachOnlyWhatTheyNeed(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		c := registeredCluster(t, r)
		g := netpol.GKE{Network: r.cfg.Settings.Network}
		controller := podOf(t, r, "kubernetes:apps/v1:Deployment", "workflow-controller")
		server := podOf(t, r, "kubernetes:apps/v1:Deployment", "argo-server")
		jobs := []netpol.Pod{
			podOf(t, r, "kubernetes:batch/v1:Job", "argo-db-bootstrap"),
			podOf(t, r, "kubernetes:batch/v1:Job", "argo-db-grant-server"),
		}
		var steps []netpol.Pod
		for name := range c.Namespaces {
			if name != "kube-system" && name != r.cfg.Argo.Namespace {
				steps = append(steps, netpol.Pod{Namespace: name, Labels: map[string]string{"workflows.argoproj.io/workflow": "daily"}})
			}
		}
		require.Len(t, steps, 1+len(r.cfg.Settings.Identities), "a workflow pod in each workflow namespace")

		everyone := append(append([]netpol.Pod{controller, server}, jobs...), steps...)
		allowed := func(from netpol.Pod, to netpol.Dest) bool {
			t.Helper()
			ok, _, err := c.Egress(from, to)
			require.NoError(t, err, "%v -> %s", from, to)
			return ok
		}
		for _, p := range everyone {
			for _, to := range []netpol.Dest{
				g.KubeDNS("UDP"), g.KubeDNS("TCP"), g.NodeLocalDNS("UDP"), g.Metadata(53, "UDP"),
				g.APIServer(), g.GoogleAPI(), g.Metadata(80, "TCP"), g.MetadataWorkloadIdentity(),
				// The metadata server as Dataplane V2 may judge it, after
				// sending it to the pod's node.
				g.Node(80), g.Node(988),
			} {
				assert.True(t, allowed(p, to), "%s %v needs %s", p.Namespace, p.Labels, to)
			}
			for _, to := range []netpol.Dest{
				g.Database(5432), g.Node(10250), g.Internet(80), g.Metadata(8080, "TCP"),
				g.PodAt(server, 2746), g.PodAt(netpol.Pod{Namespace: "kube-system", Labels: map[string]string{"k8s-app": "kube-dns"}}, 8080),
			} {
				assert.False(t, allowed(p, to), "%s %v must not reach %s", p.Namespace, p.Labels, to)
			}
		}
		for _, p := range append([]netpol.Pod{controller, server}, jobs...) {
			assert.True(t, allowed(p, g.Database(3307)), "the Auth Proxy beside %v reaches Cloud SQL", p.Labels)
		}
		for _, p := range steps {
			assert.False(t, allowed(p, g.Database(3307)), "a step in %s never reaches the database", p.Namespace)
		}
		for _, p := range everyone {
			want := fmt.Sprint(p.Labels["app.kubernetes.io/name"] == "argo-server" && p.Namespace == r.cfg.Argo.Namespace)
			assert.Equal(t, want, fmt.Sprint(allowed(p, g.Internet(443))), "only argo-server reaches its sign-in issuer: %s %v", p.Namespace, p.Labels)
		}
		// The issuer's rule reaches the internet only.
		for _, private := range []netpol.Dest{g.Node(443), g.Database(443), g.Metadata(443, "TCP")} {
			assert.False(t, allowed(server, private), "argo-server's sign-in rule does not reach %s", private)
		}
	})
}

// TestGoogleAPIsResolveInsideTheVPC: the network's private zone answers
// every *.googleapis.com name with private.googleapis.com's four addresses,
// the range the egress policies allow for Google's APIs; it is visible only
// from the stack's VPC.
func TestGoogleAPIsResolveInsideTheVPC(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		zone := one(t, r.rec, "gcp:dns/managedZone:ManagedZone", "argo-"+r.stack+"-googleapis")
		assert.Equal(t, "googleapis.com.", Str(zone.Inputs, "dnsName"))
		assert.Equal(t, "private", Str(zone.Inputs, "visibility"))
		require.Equal(t, 1, Len(zone.Inputs, "privateVisibilityConfig.networks"))
		if !r.dryRun {
			// The VPC's id (the mocks' <name>-id; unknown in a preview).
			vpc := one(t, r.rec, "gcp:compute/network:Network", "argo-"+r.stack)
			assert.Equal(t, vpc.Name+"-id", Str(zone.Inputs, "privateVisibilityConfig.networks[0].networkUrl"), "seen from the stack's VPC only")
		}

		records := map[string][]string{}
		for _, rs := range r.rec.OfType("gcp:dns/recordSet:RecordSet") {
			if Str(rs.Inputs, "managedZone") == Str(zone.Inputs, "name") {
				records[Str(rs.Inputs, "type")+" "+Str(rs.Inputs, "name")] = Strs(rs.Inputs, "rrdatas")
			}
		}
		assert.Equal(t, map[string][]string{
			"A private.googleapis.com.": {"199.36.153.8", "199.36.153.9", "199.36.153.10", "199.36.153.11"},
			"CNAME *.googleapis.com.":   {"private.googleapis.com."},
		}, records)
		policy := kubeIn(t, r.rec, "kubernetes:networking.k8s.io/v1:NetworkPolicy", r.cfg.Argo.Namespace, "egress")
		assert.Contains(t, fmt.Sprint(Prop(policy.Inputs, "spec.egress").Mappable()), "199.36.153.8/30", "the policies allow the range the zone answers")
		// Every egress policy waits for the records: applied before them,
		// a pod still resolving a Google API to a public address would be
		// refused.
		for _, np := range r.rec.OfType("kubernetes:networking.k8s.io/v1:NetworkPolicy") {
			if !slices.Contains(Strs(np.Inputs, "spec.policyTypes"), "Egress") {
				continue
			}
			for _, rs := range r.rec.OfType("gcp:dns/recordSet:RecordSet") {
				if Str(rs.Inputs, "managedZone") == Str(zone.Inputs, "name") {
					assert.Contains(t, np.DependsOn, rs.URN, "%s waits for %s", np.Name, rs.Name)
				}
			}
		}
	})
}
