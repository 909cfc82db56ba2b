// Package localdeploy deploys a stack's Kubernetes side, exactly as
// infra.Deploy builds it, onto a local control plane with the real Pulumi
// engine (Automation API, file backend) and the real Kubernetes provider.
// The GCP outputs are replaced by the values GCP would return for the
// stack's names. Used by the end-to-end tests and `make sandbox`.
package localdeploy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/infra"
	"github.com/argo-platform/argo-platform/infra/argo"
	"github.com/argo-platform/argo-platform/infra/gcp/google"
	"github.com/argo-platform/argo-platform/infra/kube"
	"github.com/argo-platform/argo-platform/stacks"
	"github.com/argo-platform/argo-platform/tests"
	"github.com/argo-platform/argo-platform/tests/localcluster"
)

// Tools is where tools/build.sh puts the real parts.
func Tools() string { return filepath.Join(tests.RepoRoot(), ".tools") }

// Settings loads and validates a real stack file, as Deploy would, with
// change applied to its settings block first (nil for none).
func Settings(stack string, change func(settings map[string]any)) (*stacks.Loaded, error) {
	if change == nil {
		change = func(map[string]any) {}
	}
	cfg, err := tests.EditedConfig(stack, change)
	if err != nil {
		return nil, err
	}
	return stacks.Parse(stacks.Input{
		Stack:                 stack,
		Project:               cfg[stacks.KeyProject],
		Region:                cfg[stacks.KeyRegion],
		Settings:              cfg[stacks.KeySettings],
		DatabaseAdminPassword: cfg[stacks.KeyDatabaseAdminPassword], SSOClientSecret: cfg[stacks.KeySSOClientSecret],
	})
}

// StandInNamespace holds the ConfigMaps that play the GCP resources.
const StandInNamespace = "gcp-stand-ins"

// The stand-ins, by the GCP resource each plays.
const (
	StandInCluster  = "cluster"
	StandInSubnet   = "subnet"
	StandInAddress  = "address"
	StandInBucket   = "bucket"
	StandInDatabase = "database"
	StandInAccounts = "service-accounts"
)

// Program is the Kubernetes side of Deploy for cfg, on the cluster that
// kubeconfig reaches. The GCP resources Deploy would create are played by
// ConfigMaps in StandInNamespace that hold the values GCP returns for the
// stack's names (bucket, connection name, e-mails, address name), created
// through a provider of their own. Their outputs feed the Argo component
// and the cluster's provider the way GCP's do, so every dependency, and with
// it the order `pulumi destroy` deletes in, is Deploy's: the cluster
// stand-in depends on the subnet stand-in, the provider reads its kubeconfig
// from the cluster stand-in, and in-cluster objects are DeletedWith it.
func Program(cfg *stacks.Loaded, kubeconfig string) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		gcp, err := kubernetes.NewProvider(ctx, "gcp-stand-ins", kube.ProviderArgs(pulumi.String(kubeconfig)))
		if err != nil {
			return err
		}
		ns, err := corev1.NewNamespace(ctx, StandInNamespace, &corev1.NamespaceArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(StandInNamespace)},
		}, pulumi.Provider(gcp))
		if err != nil {
			return err
		}
		standIn := func(name string, data pulumi.StringMap, deps ...pulumi.Resource) (*corev1.ConfigMap, error) {
			return corev1.NewConfigMap(ctx, "stand-in-"+name, &corev1.ConfigMapArgs{
				Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(name), Namespace: pulumi.String(StandInNamespace)},
				Data:     data,
			}, pulumi.Provider(gcp), pulumi.DependsOn(append([]pulumi.Resource{ns}, deps...)))
		}
		n, p := stacks.NamesFor(cfg.Settings), cfg.Project
		subnet, err := standIn(StandInSubnet, pulumi.StringMap{"name": pulumi.String(n.Base)})
		if err != nil {
			return err
		}
		cluster, err := standIn(StandInCluster, pulumi.StringMap{
			"name":       pulumi.String(n.Base),
			"kubeconfig": pulumi.ToSecret(pulumi.String(kubeconfig)).(pulumi.StringOutput),
		}, subnet)
		if err != nil {
			return err
		}
		address, err := standIn(StandInAddress, pulumi.StringMap{"name": pulumi.String(n.Base)})
		if err != nil {
			return err
		}
		bucket, err := standIn(StandInBucket, pulumi.StringMap{"name": pulumi.String(n.Bucket)})
		if err != nil {
			return err
		}
		database, err := standIn(StandInDatabase, pulumi.StringMap{
			"connectionName": pulumi.String(fmt.Sprintf("%s:%s:%s", p, cfg.Region, n.Base)),
			"name":           pulumi.String(n.Database),
			// The users Cloud SQL has: the IAM users of the controller's
			// and the server's accounts, and the built-in admin.
			"controllerUser": pulumi.String(google.DatabaseUser(n.Controller.Email(p))),
			"serverUser":     pulumi.String(google.DatabaseUser(n.Server.Email(p))),
			"adminUser":      pulumi.String(n.AdminUser),
		})
		if err != nil {
			return err
		}
		// The e-mail Google gives each principal's account.
		principals := infra.Principals(cfg.Settings)
		emailData := pulumi.StringMap{}
		for _, pr := range principals {
			emailData[pr.Key] = pulumi.String(google.ServiceAccountEmail(pr.ID, p))
		}
		accounts, err := standIn(StandInAccounts, emailData)
		if err != nil {
			return err
		}

		provider, err := kubernetes.NewProvider(ctx, "local", kube.ProviderArgs(cluster.Data.MapIndex(pulumi.String("kubeconfig"))))
		if err != nil {
			return err
		}
		for i := range principals {
			principals[i].Email = accounts.Data.MapIndex(pulumi.String(principals[i].Key))
		}
		w, err := argo.NewWorkflows(ctx, "argo", infra.ArgoArgs(cfg, infra.ArgoInputs{
			StaticIPName:           address.Data.MapIndex(pulumi.String("name")),
			Bucket:                 bucket.Data.MapIndex(pulumi.String("name")),
			DatabaseConnectionName: database.Data.MapIndex(pulumi.String("connectionName")),
			DatabaseName:           database.Data.MapIndex(pulumi.String("name")),
			DatabaseUsers: infra.DatabaseUsers{
				Controller: database.Data.MapIndex(pulumi.String("controllerUser")),
				Server:     database.Data.MapIndex(pulumi.String("serverUser")),
				Admin:      database.Data.MapIndex(pulumi.String("adminUser")),
			},
			Principals:   principals,
			Cluster:      cluster,
			SignInIssuer: localcluster.SignInIssuer,
			// GCP's value: the e2e judges its pods' connections by the
			// policies GKE would get (tests/netpol).
			GoogleAPIsCIDR: google.PrivateGoogleAPIs,
		}), pulumi.Providers(provider))
		if err != nil {
			return err
		}
		ctx.Export("namespace", w.Namespace)
		return nil
	}
}

// StateURL is the file backend URL for state kept in dir. metadata=skip
// makes every write of the state atomic (a temporary file renamed over the
// old one): by default the file backend also writes a metadata sidecar
// (<stack>.json.attrs) by truncating and rewriting it in place, so a CLI
// killed at that moment leaves an empty sidecar, and every later command
// fails with "failed to load checkpoint: EOF" although the state itself is
// whole. no_tmp_dir keeps the temporary file beside the state, so the rename
// never crosses file systems.
func StateURL(dir string) string {
	return "file://" + dir + "?metadata=skip&no_tmp_dir=true"
}

// Stack opens (or creates) a local stack for program, with its state in
// stateDir and the CLI and plugins from Tools().
func Stack(ctx context.Context, name, stateDir string, program pulumi.RunFunc) (auto.Stack, error) {
	return StackAt(ctx, name, stateDir, StateURL(stateDir), program)
}

// StackAt is Stack with the state at backendURL (stateDir still holds the
// CLI's home).
func StackAt(ctx context.Context, name, stateDir, backendURL string, program pulumi.RunFunc) (auto.Stack, error) {
	tools := Tools()
	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: tools})
	if err != nil {
		return auto.Stack{}, fmt.Errorf("pulumi CLI (run `make tools`): %w", err)
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return auto.Stack{}, err
	}
	home := filepath.Join(stateDir, "pulumi-home")
	env := map[string]string{
		// The provider plugin is found on PATH (the engine warns that it
		// does so); nothing is downloaded.
		"PATH":                                 filepath.Join(tools, "bin") + string(os.PathListSeparator) + os.Getenv("PATH"),
		"PULUMI_CONFIG_PASSPHRASE":             "local-only",
		"PULUMI_SKIP_UPDATE_CHECK":             "true",
		"PULUMI_HOME":                          home,
		"PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true",
	}
	return auto.UpsertStackInlineSource(ctx, name, tests.Project, program,
		auto.Pulumi(cmd),
		auto.PulumiHome(home),
		auto.EnvVars(env),
		auto.Project(workspace.Project{
			Name:    tests.Project,
			Runtime: workspace.NewProjectRuntimeInfo("go", nil),
			Backend: &workspace.ProjectBackend{URL: backendURL},
		}),
	)
}
