package trust

import (
	"strings"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/iam"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/kms"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/projects"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/serviceaccount"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/storage"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/stacks"

	"github.com/argo-platform/argo-platform/infra/gcp/google"
)

// GitHubIssuer is the OIDC issuer of GitHub Actions' tokens.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

// DeployerRoles are what `pulumi up` of the main program needs on its
// environment's project: DeployerRoleFor's roles, each once.
var DeployerRoles = []string{
	"roles/serviceusage.serviceUsageAdmin",
	"roles/compute.networkAdmin",
	"roles/servicenetworking.networksAdmin",
	"roles/container.admin",
	"roles/cloudsql.admin",
	"roles/storage.admin",
	"roles/iam.serviceAccountAdmin",
	// Creating the cluster names the nodes' service account.
	"roles/iam.serviceAccountUser",
	"roles/resourcemanager.projectIamAdmin",
	"roles/iap.admin",
	"roles/monitoring.alertPolicyEditor",
	"roles/monitoring.notificationChannelEditor",
	"roles/monitoring.dashboardEditor",
	// Workflow identities' grants on BigQuery datasets: setting a dataset's
	// IAM policy is in no narrower role (the deployer may already grant
	// itself anything on the project, projectIamAdmin).
	"roles/bigquery.dataOwner",
	// Workflow identities' grants on Secret Manager secrets: a secret's
	// IAM policy is set by no narrower role either.
	"roles/secretmanager.admin",
	// The network's private zone for Google's APIs (and, where the
	// environment has one, the UI's record in its managed zone).
	"roles/dns.admin",
}

// DeployerRoleFor is, per resource type the main program registers, the
// role of DeployerRoles that lets the deployer create,
// change and delete it (Google's IAM roles reference). A type the program
// registers without an entry here fails
// TestTheDeployerMayCreateEveryResourceTheProgramRegisters: a new resource
// brings the right to create it.
var DeployerRoleFor = map[string]string{
	"gcp:projects/service:Service":                           "roles/serviceusage.serviceUsageAdmin",
	"gcp:compute/network:Network":                            "roles/compute.networkAdmin",
	"gcp:compute/subnetwork:Subnetwork":                      "roles/compute.networkAdmin",
	"gcp:compute/router:Router":                              "roles/compute.networkAdmin",
	"gcp:compute/routerNat:RouterNat":                        "roles/compute.networkAdmin",
	"gcp:compute/globalAddress:GlobalAddress":                "roles/compute.networkAdmin",
	"gcp:servicenetworking/connection:Connection":            "roles/servicenetworking.networksAdmin",
	"gcp:container/cluster:Cluster":                          "roles/container.admin",
	"gcp:sql/databaseInstance:DatabaseInstance":              "roles/cloudsql.admin",
	"gcp:sql/database:Database":                              "roles/cloudsql.admin",
	"gcp:sql/user:User":                                      "roles/cloudsql.admin",
	"gcp:storage/bucket:Bucket":                              "roles/storage.admin",
	"gcp:storage/bucketIAMMember:BucketIAMMember":            "roles/storage.admin",
	"gcp:serviceaccount/account:Account":                     "roles/iam.serviceAccountAdmin",
	"gcp:serviceaccount/iAMMember:IAMMember":                 "roles/iam.serviceAccountAdmin",
	"gcp:projects/iAMMember:IAMMember":                       "roles/resourcemanager.projectIamAdmin",
	"gcp:iap/webIamMember:WebIamMember":                      "roles/iap.admin",
	"gcp:monitoring/alertPolicy:AlertPolicy":                 "roles/monitoring.alertPolicyEditor",
	"gcp:monitoring/notificationChannel:NotificationChannel": "roles/monitoring.notificationChannelEditor",
	"gcp:monitoring/dashboard:Dashboard":                     "roles/monitoring.dashboardEditor",
	"gcp:bigquery/datasetIamMember:DatasetIamMember":         "roles/bigquery.dataOwner",
	"gcp:secretmanager/secretIamMember:SecretIamMember":      "roles/secretmanager.admin",
	"gcp:dns/managedZone:ManagedZone":                        "roles/dns.admin",
	"gcp:dns/recordSet:RecordSet":                            "roles/dns.admin",
	// Every Kubernetes object goes through the cluster's API, which GKE
	// authorizes with IAM.
	"kubernetes:": "roles/container.admin",
}

// PreviewerRoles read the environment's project, for main's previews and
// the drift check's refresh, and change nothing. In the cluster, Viewer
// carries Kubernetes Engine Viewer's reads (every object but Secrets, by
// Google's roles reference), so the drift check refreshes every object but
// the Secrets (DriftRefreshFlags); a preview's server-side dry runs are
// forbidden to it and the Kubernetes provider falls back to a client-side
// diff, as for a pull request. It reaches, beyond the stack, every
// readable setting of the project and the cluster's objects but Secrets
// (e2e checkMainPreview: its write, Secret read and exec refused).
var PreviewerRoles = []string{
	"roles/viewer",
	"roles/iam.securityReviewer",
}

// DriftExclude is every Kubernetes Secret the program manages, as a URN
// glob for the refresh's --exclude (Pulumi's URN globs: ** spans "::",
// * does not): the previewer may not read them, so the drift check leaves
// them out. A deploy writes them again in full.
const DriftExclude = "urn:pulumi:**kubernetes:core/v1:Secret::**"

// DriftRefreshFlags are the drift check's `pulumi refresh` (drift.yml):
// a refresh that writes no state (--preview-only), fails on any drift and
// skips the Secrets the previewer cannot read. The Kubernetes provider
// reads as whoever runs it: GKE's kubeconfig takes the runner's identity
// (gke-gcloud-auth-plugin).
var DriftRefreshFlags = []string{"--preview-only", "--expect-no-changes", "--exclude", DriftExclude}

// PullRequestRoles are all a pull request's preview gets on the
// environment's project: the cluster's metadata, so its client can
// authenticate to the cluster (Kubernetes Engine Cluster Viewer holds
// container.clusters.get and .list and no right on any object inside the
// cluster). A preview without a refresh reads nothing else from Google
// Cloud (the program calls no data source), and the Kubernetes provider
// falls back to a client-side diff when the API server forbids its
// server-side dry run (pulumi-kubernetes' Create and Update in preview), so
// the diff still shows the Kubernetes side; no object can be changed or
// read, Secrets included (e2e TestAPullRequestsPreviewNeedsNoRightInTheCluster).
var PullRequestRoles = []string{
	"roles/container.clusterViewer",
}

// BucketName is env's state bucket in the admin project.
func BucketName(admin, env string) string { return admin + "-pulumi-" + env }

// prefix names each role's account and pool.
var prefix = map[Role]string{Deployer: "deploy", Previewer: "preview", PullRequest: "prpreview"}

// AccountID is env's role account (at most 30 characters).
func AccountID(env string, role Role) string { return prefix[role] + "-" + env }

// PoolID is env's role pool (at most 32 characters).
func PoolID(env string, role Role) string { return "gh-" + prefix[role] + "-" + env }

// AdminAPIs are enabled in the admin project: keys, accounts, token
// exchange for GitHub's tokens, and the state buckets.
var AdminAPIs = []string{
	"cloudkms.googleapis.com",
	"iam.googleapis.com",
	"iamcredentials.googleapis.com",
	"sts.googleapis.com",
	"storage.googleapis.com",
	"cloudresourcemanager.googleapis.com",
}

// KeyRingName holds one key per environment.
const KeyRingName = "pulumi-state"

// Trust is the bootstrap's resources.
type Trust struct {
	pulumi.ResourceState

	// Buckets, Keys, Providers and Accounts by environment (Accounts and
	// Providers by "<env>/<role>").
	Buckets   map[string]pulumi.StringOutput
	Keys      map[string]pulumi.StringOutput
	Providers map[string]pulumi.StringOutput
	Accounts  map[string]pulumi.StringOutput
}

// Deploy is the bootstrap program: settings, then Trust, then its outputs.
func Deploy(ctx *pulumi.Context) error {
	s, err := Load(ctx)
	if err != nil {
		return err // nothing is registered
	}
	t, err := NewTrust(ctx, "trust", s)
	if err != nil {
		return err
	}
	for _, env := range stacks.Environments {
		ctx.Export(env+"StateURL", pulumi.Sprintf("gs://%s", t.Buckets[env]))
		ctx.Export(env+"SecretsProvider", pulumi.Sprintf("gcpkms://%s", t.Keys[env]))
		for _, role := range Roles(env) {
			k := env + "/" + string(role)
			ctx.Export(env+"-"+string(role)+"-account", t.Accounts[k])
			ctx.Export(env+"-"+string(role)+"-provider", t.Providers[k])
		}
	}
	return nil
}

// NewTrust creates, per environment, the state bucket, the secrets key, the
// two accounts and their pools, and the grants among them.
func NewTrust(ctx *pulumi.Context, name string, s *Settings, opts ...pulumi.ResourceOption) (*Trust, error) {
	t := &Trust{
		Buckets: map[string]pulumi.StringOutput{}, Keys: map[string]pulumi.StringOutput{},
		Providers: map[string]pulumi.StringOutput{}, Accounts: map[string]pulumi.StringOutput{},
	}
	if err := ctx.RegisterComponentResource("argo-platform:bootstrap:Trust", name, t, opts...); err != nil {
		return nil, err
	}
	// The state and its keys outlive any mistake in this program.
	keep := []pulumi.ResourceOption{pulumi.Parent(t), pulumi.Protect(true)}
	under := pulumi.Parent(t)
	admin := pulumi.String(s.Project)

	// The admin project's APIs this program and the workflows call.
	var apis []pulumi.Resource
	for _, api := range AdminAPIs {
		svc, err := projects.NewService(ctx, "api-"+strings.Split(api, ".")[0], &projects.ServiceArgs{
			Project: admin, Service: pulumi.String(api), DisableOnDestroy: pulumi.Bool(false),
		}, under)
		if err != nil {
			return nil, err
		}
		apis = append(apis, svc)
	}
	afterAPIs := pulumi.DependsOn(apis)
	keep = append(keep, afterAPIs)
	withAPIs := []pulumi.ResourceOption{under, afterAPIs}

	ring, err := kms.NewKeyRing(ctx, KeyRingName, &kms.KeyRingArgs{
		Project: admin, Location: pulumi.String(s.Location), Name: pulumi.String(KeyRingName),
	}, keep...)
	if err != nil {
		return nil, err
	}
	for _, env := range stacks.Environments {
		e := s.Environments[env]
		bucket, err := storage.NewBucket(ctx, "state-"+env, &storage.BucketArgs{
			Project:                  admin,
			Name:                     pulumi.String(BucketName(s.Project, env)),
			Location:                 pulumi.String(strings.ToUpper(s.Location)),
			UniformBucketLevelAccess: pulumi.Bool(true),
			PublicAccessPrevention:   pulumi.String("enforced"),
			// Every state write is kept: a bad `up` can be rolled back.
			Versioning: storage.BucketVersioningArgs{Enabled: pulumi.Bool(true)},
		}, keep...)
		if err != nil {
			return nil, err
		}
		key, err := kms.NewCryptoKey(ctx, "secrets-"+env, &kms.CryptoKeyArgs{
			Name:           pulumi.String(env),
			KeyRing:        ring.ID(),
			RotationPeriod: pulumi.String("7776000s"), // 90 days
		}, keep...)
		if err != nil {
			return nil, err
		}
		t.Buckets[env] = bucket.Name
		t.Keys[env] = key.ID().ToStringOutput()

		for _, role := range Roles(env) {
			k := env + "/" + string(role)
			res := env + "-" + string(role)
			pool, err := iam.NewWorkloadIdentityPool(ctx, res, &iam.WorkloadIdentityPoolArgs{
				Project:                admin,
				WorkloadIdentityPoolId: pulumi.String(PoolID(env, role)),
				DisplayName:            pulumi.String("GitHub " + string(role) + " " + env),
			}, withAPIs...)
			if err != nil {
				return nil, err
			}
			provider, err := iam.NewWorkloadIdentityPoolProvider(ctx, res, &iam.WorkloadIdentityPoolProviderArgs{
				Project:                        admin,
				WorkloadIdentityPoolId:         pool.WorkloadIdentityPoolId,
				WorkloadIdentityPoolProviderId: pulumi.String("github"),
				Oidc:                           iam.WorkloadIdentityPoolProviderOidcArgs{IssuerUri: pulumi.String(GitHubIssuer)},
				AttributeMapping: pulumi.StringMap{
					"google.subject":         pulumi.String("assertion.sub"),
					"attribute.repository":   pulumi.String("assertion.repository"),
					"attribute.environment":  pulumi.String("assertion.environment"),
					"attribute.workflow_ref": pulumi.String("assertion.workflow_ref"),
				},
				// The whole trust rule: only the tokens this account is for.
				AttributeCondition: pulumi.String(s.Condition(env, role)),
			}, withAPIs...)
			if err != nil {
				return nil, err
			}
			account, err := serviceaccount.NewAccount(ctx, res, &serviceaccount.AccountArgs{
				Project:     admin,
				AccountId:   pulumi.String(AccountID(env, role)),
				DisplayName: pulumi.String("GitHub Actions " + string(role) + " of " + env),
			}, withAPIs...)
			if err != nil {
				return nil, err
			}
			member := pulumi.Sprintf("serviceAccount:%s", account.Email)
			// Every identity of this pool, and only this pool's (its
			// provider's condition decides who gets in).
			if _, err := serviceaccount.NewIAMMember(ctx, res+"-workload-identity", &serviceaccount.IAMMemberArgs{
				ServiceAccountId: account.Name,
				Role:             pulumi.String("roles/iam.workloadIdentityUser"),
				Member:           pulumi.Sprintf("principalSet://iam.googleapis.com/%s/*", pool.Name),
			}, under); err != nil {
				return nil, err
			}

			// A preview reads the state and decrypts the stack's secrets
			// to run the program; it takes no lock (Pulumi's file backend
			// locks updates, refreshes and destroys, not previews), so it
			// writes nothing to the bucket and cannot remove a deploy's
			// lock.
			roles, stateRole, keyRole := DeployerRoles, "roles/storage.objectAdmin", "roles/cloudkms.cryptoKeyEncrypterDecrypter"
			switch {
			case role == Previewer:
				roles, stateRole, keyRole = PreviewerRoles, "roles/storage.objectViewer", "roles/cloudkms.cryptoKeyDecrypter"
			case role == PullRequest:
				roles, stateRole, keyRole = PullRequestRoles, "roles/storage.objectViewer", "roles/cloudkms.cryptoKeyDecrypter"
			}
			for _, r := range roles {
				if _, err := projects.NewIAMMember(ctx, res+"-"+google.RoleKey(r), &projects.IAMMemberArgs{
					Project: pulumi.String(e.Project), Role: pulumi.String(r), Member: member,
				}, under); err != nil {
					return nil, err
				}
			}
			if _, err := storage.NewBucketIAMMember(ctx, res+"-state", &storage.BucketIAMMemberArgs{
				Bucket: bucket.Name, Role: pulumi.String(stateRole), Member: member,
			}, under); err != nil {
				return nil, err
			}
			if _, err := kms.NewCryptoKeyIAMMember(ctx, res+"-secrets", &kms.CryptoKeyIAMMemberArgs{
				CryptoKeyId: key.ID(), Role: pulumi.String(keyRole), Member: member,
			}, under); err != nil {
				return nil, err
			}
			t.Accounts[k] = account.Email
			t.Providers[k] = provider.Name
		}
	}
	return t, ctx.RegisterResourceOutputs(t, pulumi.Map{})
}
