package tests_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/argo-platform/argo-platform/infra"
	"github.com/argo-platform/argo-platform/tests"
	"github.com/argo-platform/argo-platform/tests/perf"
)

// reaches reports whether from waits, directly or not, for to: `pulumi
// destroy` deletes a resource only after everything that waits for it.
func reaches(g perf.Graph, from, to string) bool {
	seen := map[string]bool{}
	var walk func(string) bool
	walk = func(urn string) bool {
		if urn == to {
			return true
		}
		if seen[urn] || g[urn] == nil {
			return false
		}
		seen[urn] = true
		for _, w := range g[urn].Waits {
			if walk(w) {
				return true
			}
		}
		return false
	}
	return walk(from)
}

func named(t *testing.T, rec *tests.Recorder, typ, name string) *tests.Registered {
	t.Helper()
	for _, r := range rec.OfType(typ) {
		if r.Name == name || tests.Str(r.Inputs, "metadata.name") == name {
			return r
		}
	}
	require.Failf(t, "missing resource", "no %s named %s", typ, name)
	return nil
}

// Destroy removes what GKE built outside the cluster for the Ingress and its
// Service (load balancer, NEGs) before the static address, the subnet and
// the cluster, and takes the database and its admin with the instance.
func TestDestroyOrder(t *testing.T) {
	for _, stack := range tests.Stacks {
		t.Run(stack, func(t *testing.T) {
			cfg, err := tests.StackConfig(stack)
			require.NoError(t, err)
			rec, err := tests.Run(infra.Deploy, stack, cfg, false)
			require.NoError(t, err)
			g := perf.Build(rec)
			base := "argo-" + stack

			cluster := named(t, rec, "gcp:container/cluster:Cluster", base)
			subnet := named(t, rec, "gcp:compute/subnetwork:Subnetwork", base)
			address := named(t, rec, "gcp:compute/globalAddress:GlobalAddress", "edge")
			ns := named(t, rec, "kubernetes:core/v1:Namespace", "argo")
			svc := named(t, rec, "kubernetes:core/v1:Service", "argo-server")
			ing := named(t, rec, "kubernetes:networking.k8s.io/v1:Ingress", "argo-server")

			for _, r := range []*tests.Registered{ns, svc, ing} {
				assert.Empty(t, r.DeletedWith, "%s is deleted by Pulumi, not skipped with the cluster", r.Type)
				assert.Equal(t, "30m", r.DeleteTimeout, "%s: destroy waits long enough for GKE's finalizers", r.Type)
				assert.True(t, reaches(g, r.URN, cluster.URN), "%s goes before the cluster", r.Type)
				assert.True(t, reaches(g, r.URN, subnet.URN), "%s goes before the subnet", r.Type)
			}
			assert.True(t, reaches(g, ing.URN, address.URN), "the Ingress (and its load balancer) goes before the static address")
			assert.True(t, reaches(g, ing.URN, svc.URN), "the Ingress goes before its Service")
			assert.True(t, reaches(g, svc.URN, ns.URN), "the Service goes before the namespace")

			instance := named(t, rec, "gcp:sql/databaseInstance:DatabaseInstance", base)
			db := named(t, rec, "gcp:sql/database:Database", base+"-argo")
			admin := named(t, rec, "gcp:sql/user:User", base+"-argo-admin")
			for _, r := range []*tests.Registered{db, admin} {
				assert.Equal(t, instance.URN, r.DeletedWith, "%s goes with the instance, not through a DROP PostgreSQL refuses", r.Name)
			}
			for _, key := range []string{infra.Controller, infra.Server} {
				u := named(t, rec, "gcp:sql/user:User", base+"-"+key)
				assert.Equal(t, "ABANDON", tests.Str(u.Inputs, "deletionPolicy"), "%s owns or holds grants; the instance takes it", u.Name)
			}
			peering := named(t, rec, "gcp:servicenetworking/connection:Connection", base+"-private-services")
			upd, ok := tests.Bool(peering.Inputs, "updateOnCreationFail")
			assert.True(t, ok && upd, "a second up after destroy reuses the peering the producer remembers")
		})
	}
}
