package tests

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/argo-platform/argo-platform/infra"
	"github.com/argo-platform/argo-platform/stacks"
)

// run is one whole-program run of a real stack file under the recording mock.
type run struct {
	stack   string
	dryRun  bool
	rec     *Recorder
	cfg     *stacks.Loaded
	outputs map[string]*Captured
}

// runStack runs infra's program for a real Pulumi.<stack>.yaml, capturing the
// stack outputs as Deploy exports them.
func runStack(t *testing.T, stack string, dryRun bool) *run {
	t.Helper()
	config, err := StackConfig(stack)
	require.NoError(t, err)
	r := &run{stack: stack, dryRun: dryRun, outputs: map[string]*Captured{}}
	program := func(ctx *pulumi.Context) error {
		cfg, err := stacks.Load(ctx)
		if err != nil {
			return err
		}
		r.cfg = cfg
		p, err := infra.Platform(ctx, cfg)
		if err != nil {
			return err
		}
		for name, v := range p.Outputs() {
			r.outputs[name] = Capture(pulumi.ToOutput(v))
		}
		p.Export(ctx)
		AwaitCaptures(ctx, r.outputs)
		return nil
	}
	r.rec, err = Run(program, stack, config, dryRun)
	require.NoError(t, err)
	return r
}

// forEachStack runs fn for every real stack file, in update and preview mode.
func forEachStack(t *testing.T, fn func(t *testing.T, r *run)) {
	for _, stack := range Stacks {
		for _, dryRun := range []bool{false, true} {
			mode := "update"
			if dryRun {
				mode = "preview"
			}
			t.Run(stack+"/"+mode, func(t *testing.T) {
				fn(t, runStack(t, stack, dryRun))
			})
		}
	}
}

// forEachUpdate is forEachStack for checks of values known only once an
// update has created what they name: they do not run in preview, rather
// than pass there having checked nothing.
func forEachUpdate(t *testing.T, fn func(t *testing.T, r *run)) {
	for _, stack := range Stacks {
		t.Run(stack+"/update", func(t *testing.T) {
			fn(t, runStack(t, stack, false))
		})
	}
}

func one(t *testing.T, rec *Recorder, typ, name string) *Registered {
	t.Helper()
	res := rec.Named(typ, name)
	require.NotNil(t, res, "no %s named %s; registered types: %v", typ, name, rec.Types())
	return res
}

func TestEveryResourceIsParentedToAComponent(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		require.NotEmpty(t, r.rec.Resources())
		for _, res := range r.rec.Resources() {
			if IsComponent(res.Type) {
				continue
			}
			parent := r.rec.ByURN(res.Parent)
			if assert.NotNil(t, parent, "%s %s has no recorded parent (%q)", res.Type, res.Name, res.Parent) {
				assert.True(t, IsComponent(parent.Type), "%s %s is parented to %s, not one of our components", res.Type, res.Name, parent.Type)
			}
		}
	})
}

func TestProjectServicesStayOn(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		var enabled []string
		for _, svc := range r.rec.OfType("gcp:projects/service:Service") {
			enabled = append(enabled, Str(svc.Inputs, "service"))
			off, ok := Bool(svc.Inputs, "disableOnDestroy")
			assert.True(t, ok && !off, "%s must set disableOnDestroy: false", svc.Name)
			dep, ok := Bool(svc.Inputs, "disableDependentServices")
			assert.True(t, ok && !dep, "%s must set disableDependentServices: false", svc.Name)
		}
		for _, api := range []string{"container.googleapis.com", "sqladmin.googleapis.com", "servicenetworking.googleapis.com", "iap.googleapis.com", "compute.googleapis.com"} {
			assert.Contains(t, enabled, api)
		}
	})
}

func TestTheClusterGetsItsOwnVPCWithPrivateServicesAccessAndNAT(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		s, base := r.cfg.Settings, "argo-"+r.stack
		vpc := one(t, r.rec, "gcp:compute/network:Network", base)
		auto := MustBool(t, vpc.Inputs, "autoCreateSubnetworks")
		assert.False(t, auto, "custom-mode VPC")

		subnet := one(t, r.rec, "gcp:compute/subnetwork:Subnetwork", base)
		assert.Equal(t, s.Network.SubnetCIDR, Str(subnet.Inputs, "ipCidrRange"))
		pga := MustBool(t, subnet.Inputs, "privateIpGoogleAccess")
		assert.True(t, pga, "private nodes reach Google APIs privately")
		ranges := map[string]string{}
		for i := range Len(subnet.Inputs, "secondaryIpRanges") {
			p := fmt.Sprintf("secondaryIpRanges[%d]", i)
			ranges[Str(subnet.Inputs, p+".rangeName")] = Str(subnet.Inputs, p+".ipCidrRange")
		}
		assert.Equal(t, map[string]string{"pods": s.Network.PodsCIDR, "services": s.Network.ServicesCIDR}, ranges)

		psa := one(t, r.rec, "gcp:compute/globalAddress:GlobalAddress", base+"-private-services")
		assert.Equal(t, "VPC_PEERING", Str(psa.Inputs, "purpose"))
		assert.Equal(t, "INTERNAL", Str(psa.Inputs, "addressType"))
		want := netip.MustParsePrefix(s.Network.PrivateServicesCIDR)
		assert.Equal(t, want.Addr().String(), Str(psa.Inputs, "address"))
		bits := MustNum(t, psa.Inputs, "prefixLength")
		assert.Equal(t, float64(want.Bits()), bits)
		conn := one(t, r.rec, "gcp:servicenetworking/connection:Connection", base+"-private-services")
		assert.Equal(t, "servicenetworking.googleapis.com", Str(conn.Inputs, "service"))
		assert.Equal(t, "ABANDON", Str(conn.Inputs, "deletionPolicy"), "destroy is not blocked by Cloud SQL's lingering use of the peering")

		nat := one(t, r.rec, "gcp:compute/routerNat:RouterNat", base)
		assert.Equal(t, "ALL_SUBNETWORKS_ALL_IP_RANGES", Str(nat.Inputs, "sourceSubnetworkIpRangesToNat"))
	})
}

func TestClusterIsPrivateAutopilotAndStable(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		s := r.cfg.Settings
		c := one(t, r.rec, "gcp:container/cluster:Cluster", "argo-"+r.stack)
		ap := MustBool(t, c.Inputs, "enableAutopilot")
		assert.True(t, ap, "Autopilot")
		privNodes := MustBool(t, c.Inputs, "privateClusterConfig.enablePrivateNodes")
		assert.True(t, privNodes, "nodes have no public IPs")
		assert.Equal(t, s.Network.ControlPlaneCIDR, Str(c.Inputs, "privateClusterConfig.masterIpv4CidrBlock"))
		gcpAll, ok := Bool(c.Inputs, "masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled")
		assert.True(t, ok && !gcpAll, "control plane not open to every Google Cloud IP")
		n := Len(c.Inputs, "masterAuthorizedNetworksConfig.cidrBlocks")
		require.Equal(t, len(s.Cluster.AuthorizedNetworks), n)
		require.NotZero(t, n, "the control plane endpoint is restricted to listed ranges")
		for i := range n {
			cidr := Str(c.Inputs, fmt.Sprintf("masterAuthorizedNetworksConfig.cidrBlocks[%d].cidrBlock", i))
			assert.Equal(t, s.Cluster.AuthorizedNetworks[i].CIDR, cidr)
			assert.NotZero(t, netip.MustParsePrefix(cidr).Bits(), "never 0.0.0.0/0")
		}
		assert.Equal(t, s.Cluster.ReleaseChannel, Str(c.Inputs, "releaseChannel.channel"))
		assert.NotEmpty(t, Str(c.Inputs, "maintenancePolicy.recurringWindow.recurrence"))
		dp, ok := Bool(c.Inputs, "deletionProtection")
		assert.True(t, ok)
		assert.Equal(t, s.Cluster.DeletionProtection, dp)
		for _, f := range []string{"nodeConfig", "dnsConfig", "nodePoolDefaults"} {
			assert.Contains(t, c.IgnoreChanges, f, "Autopilot-managed field %s must be ignored or every run replaces the cluster", f)
		}
		assert.Equal(t, r.stack == stacks.Production, c.Protect, "Pulumi protect on the cluster only in production")
		if r.stack == stacks.Production {
			assert.True(t, dp, "production cluster has GKE deletion protection")
		}
		if r.stack == stacks.Experimental {
			assert.False(t, dp, "experimental is easy to tear down")
		}
	})
}

func TestKubernetesProviderUsesTheClusterWithoutAToken(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		providers := r.rec.OfType("pulumi:providers:kubernetes")
		require.Len(t, providers, 1, "one Kubernetes provider")
		assert.True(t, ProviderFlag(providers[0].Inputs, "enableConfigMapMutable"),
			"Argo's ConfigMaps are updated in place, not replaced under the controller (got %v)", Prop(providers[0].Inputs, "enableConfigMapMutable"))
		assert.True(t, ProviderFlag(providers[0].Inputs, "enableSecretMutable"),
			"Secrets are updated in place, never missing for a moment (got %v)", Prop(providers[0].Inputs, "enableSecretMutable"))
		if r.dryRun {
			assert.False(t, Known(providers[0].Inputs, "kubeconfig"), "under preview the endpoint is unknown")
			return
		}
		text := Str(providers[0].Inputs, "kubeconfig")
		assert.Contains(t, text, "https://"+ClusterEndpoint)
		assert.Contains(t, text, "gke-gcloud-auth-plugin")
		assert.NotContains(t, text, "token")
		assert.NotContains(t, text, "password")
	})
}

func TestStepLogsGoToAPrivateBucketThatExpiresThem(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		s := r.cfg.Settings
		b := one(t, r.rec, "gcp:storage/bucket:Bucket", "logs")
		assert.Equal(t, s.Project+"-argo-logs-"+r.stack, Str(b.Inputs, "name"))
		assert.Equal(t, s.Region, Str(b.Inputs, "location"))
		ubla := MustBool(t, b.Inputs, "uniformBucketLevelAccess")
		assert.True(t, ubla, "uniform bucket-level access")
		assert.Equal(t, "enforced", Str(b.Inputs, "publicAccessPrevention"))
		require.Equal(t, 1, Len(b.Inputs, "lifecycleRules"))
		assert.Equal(t, "Delete", Str(b.Inputs, "lifecycleRules[0].action.type"))
		age := MustNum(t, b.Inputs, "lifecycleRules[0].condition.age")
		assert.Equal(t, float64(s.Logs.RetentionDays), age)
		assert.Equal(t, r.stack == stacks.Production, b.Protect)
		// GCS refuses to delete a bucket that still holds objects: only
		// experimental's `destroy` empties it first.
		force := MustBool(t, b.Inputs, "forceDestroy")
		assert.Equal(t, r.stack == stacks.Experimental, force, "forceDestroy")
		// Soft delete is always written (the provider would leave GCS's
		// default when absent): staging and production keep a deleted or
		// overwritten object restorable for at least a week.
		soft := MustNum(t, b.Inputs, "softDeletePolicy.retentionDurationSeconds")
		assert.Equal(t, float64(s.Logs.SoftDeleteDays*86400), soft)
		if r.stack != stacks.Experimental {
			assert.GreaterOrEqual(t, soft, float64(7*86400), "soft delete in %s", r.stack)
		}

		roles := map[string][]string{}
		for _, m := range r.rec.OfType("gcp:storage/bucketIAMMember:BucketIAMMember") {
			if !strings.HasPrefix(m.Name, "logs-") {
				// A workflow identity's declared bucket, never the logs'.
				assert.NotEqual(t, s.Project+"-argo-logs-"+r.stack, Str(m.Inputs, "bucket"), m.Name)
				continue
			}
			key := strings.TrimPrefix(m.Name, "logs-")
			key = key[:strings.Index(key, "-storage-")]
			grant := Str(m.Inputs, "role")
			if c := Prop(m.Inputs, "condition"); !c.IsNull() {
				require.True(t, Known(m.Inputs, "condition.expression"), "%s: the condition is known, even under preview", m.Name)
				grant += " if " + Str(m.Inputs, "condition.expression")
			}
			roles[key] = append(roles[key], grant)
			if !r.dryRun {
				assert.Equal(t, s.Project+"-argo-logs-"+r.stack, Str(m.Inputs, "bucket"), "grants are on the log bucket only")
			}
		}
		bucket := s.Project + "-argo-logs-" + r.stack
		folder := func(prefix string) []string {
			return []string{`roles/storage.objectUser if resource.name.startsWith("projects/_/buckets/` + bucket + `/objects/` + prefix + `") || ` +
				`(resource.type == "storage.googleapis.com/Bucket" && api.getAttribute("storage.googleapis.com/objectListPrefix", "").startsWith("` + prefix + `"))`}
		}
		want := map[string][]string{
			// The UI shows every step's logs.
			"server": {"roles/storage.objectViewer"},
			// Each account workflows run as: its own folder, nothing else.
			"workflow": folder("argo/argo-workflow/"),
		}
		for _, wi := range r.cfg.Identities {
			want["wf-"+wi.Name] = folder("argo/" + wi.Name + "/")
		}
		assert.Equal(t, want, roles, "no grant for the controller: it never opens the bucket")
	})
}

func TestBucketGrantsNameTheRightAccounts(t *testing.T) {
	r := runStack(t, stacks.Staging, false)
	p := r.cfg.Project
	want := map[string]string{
		"logs-server-storage-objectviewer": "serviceAccount:argo-server-staging@" + p + ".iam.gserviceaccount.com",
		"logs-workflow-storage-objectuser": "serviceAccount:argo-wf-staging@" + p + ".iam.gserviceaccount.com",
	}
	for name, member := range want {
		m := one(t, r.rec, "gcp:storage/bucketIAMMember:BucketIAMMember", name)
		assert.Equal(t, member, Str(m.Inputs, "member"))
	}
}

func TestArgosDatabaseIsPrivateIAMAuthenticatedAndProtectedPerEnvironment(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		s := r.cfg.Settings.Database
		db := one(t, r.rec, "gcp:sql/databaseInstance:DatabaseInstance", "argo-"+r.stack)
		in := db.Inputs
		assert.Equal(t, s.Version, Str(in, "databaseVersion"))
		assert.Regexp(t, `^POSTGRES_1[5-8]$`, Str(in, "databaseVersion"), "a PostgreSQL major Cloud SQL offers")
		ipv4, ok := Bool(in, "settings.ipConfiguration.ipv4Enabled")
		assert.True(t, ok && !ipv4, "no public IP")
		if r.dryRun {
			assert.False(t, Known(in, "settings.ipConfiguration.privateNetwork"), "the VPC id is unknown under preview")
		} else {
			assert.Equal(t, "argo-"+r.stack+"-id", Str(in, "settings.ipConfiguration.privateNetwork"), "private IP in the VPC")
		}
		assert.Equal(t, "ENCRYPTED_ONLY", Str(in, "settings.ipConfiguration.sslMode"))
		// Connectors only: a direct login with the admin password is refused
		// (the permission matrix: no workflow account may connect).
		assert.Equal(t, "REQUIRED", Str(in, "settings.connectorEnforcement"))
		assert.Equal(t, "cloudsql.iam_authentication", Str(in, "settings.databaseFlags[0].name"))
		assert.Equal(t, "on", Str(in, "settings.databaseFlags[0].value"))
		assert.Equal(t, "ENTERPRISE", Str(in, "settings.edition"))
		assert.Equal(t, s.Tier, Str(in, "settings.tier"))
		backups := MustBool(t, in, "settings.backupConfiguration.enabled")
		pitr := MustBool(t, in, "settings.backupConfiguration.pointInTimeRecoveryEnabled")
		assert.Equal(t, s.Backups, backups)
		assert.Equal(t, s.PointInTimeRecovery, pitr)
		day := MustNum(t, in, "settings.maintenanceWindow.day")
		assert.Equal(t, float64(s.MaintenanceDay), day)
		dp := MustBool(t, in, "deletionProtection")
		cloudDP := MustBool(t, in, "settings.deletionProtectionEnabled")
		assert.Equal(t, s.DeletionProtection, dp)
		assert.Equal(t, s.DeletionProtection, cloudDP)

		conn := one(t, r.rec, "gcp:servicenetworking/connection:Connection", "argo-"+r.stack+"-private-services")
		assert.Contains(t, db.DependsOn, conn.URN, "the private IP needs private services access first")

		switch r.stack {
		case stacks.Production:
			assert.Equal(t, "REGIONAL", Str(in, "settings.availabilityType"))
			assert.True(t, backups && pitr && dp && cloudDP, "production: backups, PITR and deletion protection")
			assert.True(t, db.Protect, "Pulumi protect on production data")
			assert.Regexp(t, `^db-custom-[0-9]+-[0-9]+$`, Str(in, "settings.tier"), "no shared-core tier in production")
		case stacks.Staging:
			assert.Equal(t, "ZONAL", Str(in, "settings.availabilityType"))
			assert.True(t, backups, "staging keeps backups")
			assert.False(t, db.Protect)
		case stacks.Experimental:
			assert.False(t, dp, "experimental is easy to tear down")
			assert.False(t, db.Protect)
		}
		assert.NotNil(t, r.rec.Named("gcp:sql/database:Database", "argo-"+r.stack+"-argo"))
	})
}

func TestDatabaseUsersAreTheComponentsIAMAccounts(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		p, env := r.cfg.Project, r.stack
		want := map[string]string{
			"argo-" + env + "-controller": "argo-ctrl-" + env + "@" + p + ".iam",
			"argo-" + env + "-server":     "argo-server-" + env + "@" + p + ".iam",
		}
		for name, user := range want {
			u := one(t, r.rec, "gcp:sql/user:User", name)
			assert.Equal(t, "CLOUD_IAM_SERVICE_ACCOUNT", Str(u.Inputs, "type"))
			assert.Equal(t, user, Str(u.Inputs, "name"))
		}
		for _, u := range r.rec.OfType("gcp:sql/user:User") {
			assert.NotContains(t, u.Name, "workflow", "workflow pods never open the database")
		}
		admin := one(t, r.rec, "gcp:sql/user:User", "argo-"+env+"-argo-admin")
		assert.Equal(t, "BUILT_IN", Str(admin.Inputs, "type"))
		assert.True(t, IsSecret(admin.Inputs, "password"), "the admin password is kept secret")
	})
}

func TestServiceAccountsAndWorkloadIdentity(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		p, env := r.cfg.Project, r.stack
		accounts := map[string]string{}
		for _, sa := range r.rec.OfType("gcp:serviceaccount/account:Account") {
			accounts[sa.Name] = Str(sa.Inputs, "accountId")
		}
		want := map[string]string{
			"identity-controller":    "argo-ctrl-" + env,
			"identity-server":        "argo-server-" + env,
			"identity-workflow":      "argo-wf-" + env,
			"argo-" + env + "-nodes": "argo-nodes-" + env,
		}
		for _, wi := range r.cfg.Identities {
			want["identity-wf-"+wi.Name] = wi.Name + "-" + env
		}
		assert.Equal(t, want, accounts, "one account per component, one for the nodes, one per workflow identity, no other")

		cluster := one(t, r.rec, "gcp:container/cluster:Cluster", "argo-"+env)
		// The platform's accounts act from Argo's home namespace; the
		// workflow account only from the workflow namespace.
		home, wfNS := r.cfg.Argo.Namespace, r.cfg.Argo.WorkflowNamespace
		ksas := map[string]string{"controller": home + "/argo-workflow-controller", "server": home + "/argo-server", "workflow": wfNS + "/argo-workflow"}
		for key, ksa := range ksas {
			wi := one(t, r.rec, "gcp:serviceaccount/iAMMember:IAMMember", "identity-"+key+"-workload-identity")
			assert.Equal(t, "roles/iam.workloadIdentityUser", Str(wi.Inputs, "role"))
			assert.Equal(t, "serviceAccount:"+p+".svc.id.goog["+ksa+"]", Str(wi.Inputs, "member"))
			assert.Contains(t, wi.DependsOn, cluster.URN, "the Workload Identity pool exists once the cluster does")
			if !r.dryRun {
				assert.Equal(t, "projects/"+p+"/serviceAccounts/argo-"+map[string]string{"controller": "ctrl", "server": "server", "workflow": "wf"}[key]+"-"+env+"@"+p+".iam.gserviceaccount.com", Str(wi.Inputs, "serviceAccountId"))
			}
		}

		projectRoles := map[string][]string{}
		for _, m := range r.rec.OfType("gcp:projects/iAMMember:IAMMember") {
			key := strings.TrimPrefix(m.Name, "identity-")
			key, _, _ = strings.Cut(key, "-")
			projectRoles[key] = append(projectRoles[key], Str(m.Inputs, "role"))
		}
		for _, key := range []string{"controller", "server"} {
			assert.ElementsMatch(t, []string{"roles/cloudsql.client", "roles/cloudsql.instanceUser"}, projectRoles[key])
		}
		assert.Empty(t, projectRoles["workflow"], "workflow pods get no project-wide role")
		for _, roles := range projectRoles {
			for _, role := range roles {
				assert.NotContains(t, []string{"roles/owner", "roles/editor", "roles/cloudsql.admin"}, role)
			}
		}
	})
}

func TestOnlyTheListedMembersPassIAPAtTheStacksAddress(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		ip := one(t, r.rec, "gcp:compute/globalAddress:GlobalAddress", "edge")
		assert.Equal(t, "argo-"+r.stack, Str(ip.Inputs, "name"), "the seed's argo-<env> static IP")
		assert.Equal(t, "EXTERNAL", Str(ip.Inputs, "addressType"))

		var members []string
		for _, m := range r.rec.OfType("gcp:iap/webIamMember:WebIamMember") {
			assert.Equal(t, "roles/iap.httpsResourceAccessor", Str(m.Inputs, "role"))
			members = append(members, Str(m.Inputs, "member"))
		}
		assert.ElementsMatch(t, r.cfg.IAP.Members, members)
		for _, m := range members {
			assert.NotContains(t, []string{"allUsers", "allAuthenticatedUsers"}, m)
		}
		for _, typ := range r.rec.Types() {
			assert.NotContains(t, []string{"gcp:iap/brand:Brand", "gcp:iap/client:Client"}, typ, "the IAP OAuth Admin API is shut down")
		}
	})
}

func TestTheStackExportsWhatOperatorsNeedToReachArgo(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		names := make([]string, 0, len(r.outputs))
		for name := range r.outputs {
			names = append(names, name)
		}
		slices.Sort(names)
		assert.Equal(t, []string{"argoNamespace", "argoURL", "clusterName", "dashboardURL", "identityNamespaces", "kubeconfig", "logBucket", "serviceAccounts", "sqlConnectionName", "staticIP", "staticIPName", "workflowNamespace"}, names)
		assert.Equal(t, "https://"+r.cfg.Domain+"/", r.outputs["argoURL"].Value(t))
		if r.dryRun {
			assert.False(t, r.outputs["staticIP"].Known(), "the address is computed at create time")
			return
		}
		p := r.cfg.Project
		assert.Equal(t, StaticIP, r.outputs["staticIP"].Value(t))
		assert.Equal(t, "argo-"+r.stack, r.outputs["staticIPName"].Value(t))
		assert.Equal(t, p+"-argo-logs-"+r.stack, r.outputs["logBucket"].Value(t))
		assert.Equal(t, p+":"+r.cfg.Region+":argo-"+r.stack, r.outputs["sqlConnectionName"].Value(t))
		assert.Equal(t, "argo-"+r.stack, r.outputs["clusterName"].Value(t))
		assert.Equal(t, r.cfg.Argo.Namespace, r.outputs["argoNamespace"].Value(t))
		assert.Equal(t, r.cfg.Argo.WorkflowNamespace, r.outputs["workflowNamespace"].Value(t))
		// Where to submit a workflow that runs as an identity.
		ids := map[string]string{}
		for _, wi := range r.cfg.Identities {
			ids[wi.Name] = r.cfg.Argo.WorkflowNamespace + "-" + wi.Name
		}
		assert.Equal(t, ids, r.outputs["identityNamespaces"].Value(t))
		// The console's address of the dashboard GCP created, by its id.
		assert.Equal(t, "https://console.cloud.google.com/monitoring/dashboards/builder/"+DashboardID+"?project="+p, r.outputs["dashboardURL"].Value(t))
		assert.Equal(t, map[string]string{
			"controller": "argo-ctrl-" + r.stack + "@" + p + ".iam.gserviceaccount.com",
			"server":     "argo-server-" + r.stack + "@" + p + ".iam.gserviceaccount.com",
			"workflow":   "argo-wf-" + r.stack + "@" + p + ".iam.gserviceaccount.com",
		}, r.outputs["serviceAccounts"].Value(t))
		assert.Contains(t, r.outputs["kubeconfig"].Value(t), "gke-gcloud-auth-plugin")
	})
}

// A component's own dependencies do not reach its children: each GCP
// resource must itself wait for the project APIs, or a first `pulumi up` on a
// fresh project races the API enablement and fails.
func TestEveryGCPResourceWaitsForTheAPIs(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		var apis []string
		for _, svc := range r.rec.OfType("gcp:projects/service:Service") {
			apis = append(apis, svc.URN)
		}
		require.NotEmpty(t, apis)
		for _, res := range r.rec.Resources() {
			if !strings.HasPrefix(res.Type, "gcp:") || res.Type == "gcp:projects/service:Service" {
				continue
			}
			for _, api := range apis {
				assert.Contains(t, res.DependsOn, api, "%s %s must wait for the APIs", res.Type, res.Name)
			}
		}
	})
}

// The nodes run as a service account of their own holding only the node
// role (logs, metrics), never the project's default Compute Engine account,
// which is often Editor; the cluster is created once the role is granted,
// and nothing else runs as or is granted to that account.
func TestNodesRunAsTheirOwnLeastPrivilegeAccount(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		env, p := r.stack, r.cfg.Project
		cluster := one(t, r.rec, "gcp:container/cluster:Cluster", "argo-"+env)
		nodes := one(t, r.rec, "gcp:serviceaccount/account:Account", "argo-"+env+"-nodes")
		assert.Equal(t, "argo-nodes-"+env, Str(nodes.Inputs, "accountId"))
		email := "argo-nodes-" + env + "@" + p + ".iam.gserviceaccount.com"
		member := "serviceAccount:" + email
		var roles []string
		for _, m := range r.rec.OfType("gcp:projects/iAMMember:IAMMember") {
			if Str(m.Inputs, "member") == member || strings.Contains(m.Name, "-nodes-") {
				roles = append(roles, Str(m.Inputs, "role"))
				assert.Contains(t, cluster.DependsOn, m.URN, "nodes start once their account has its role")
			}
		}
		if r.dryRun {
			// The account's e-mail is not known at preview: the grants are
			// found by name, and their count must still be exact.
			assert.Len(t, roles, 1)
			return
		}
		assert.Equal(t, []string{"roles/container.defaultNodeServiceAccount"}, roles, "the node role and nothing else")
		defaults := "clusterAutoscaling.autoProvisioningDefaults."
		assert.Equal(t, email, Str(cluster.Inputs, defaults+"serviceAccount"), "Autopilot's nodes run as it")
		assert.Equal(t, []string{"https://www.googleapis.com/auth/cloud-platform"}, Strs(cluster.Inputs, defaults+"oauthScopes"))
		for _, res := range r.rec.Resources() {
			if res.URN == cluster.URN || strings.Contains(res.Name, "-nodes") {
				continue
			}
			for k, v := range res.Inputs {
				assert.NotContains(t, fmt.Sprint(v), email, "%s.%s names the nodes' account", res.Name, k)
			}
		}
	})
}
