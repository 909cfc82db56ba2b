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
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/infra"
	"github.com/argo-platform/argo-platform/infra/argo"
	"github.com/argo-platform/argo-platform/infra/kube"
	"github.com/argo-platform/argo-platform/stacks"
	"github.com/argo-platform/argo-platform/tests"
)

// Tools is where tools/build.sh puts the real parts.
func Tools() string { return filepath.Join(tests.RepoRoot(), ".tools") }

// Settings loads and validates a real stack file, as Deploy would, with
// change applied to its settings block first (nil for none).
func Settings(stack string, change func(settings map[string]any)) (*stacks.Loaded, error) {
	cfg, err := tests.StackConfig(stack)
	if err != nil {
		return nil, err
	}
	if change != nil {
		var s map[string]any
		if err := jsonUnmarshal(cfg[stacks.KeySettings], &s); err != nil {
			return nil, err
		}
		change(s)
		cfg[stacks.KeySettings] = jsonMarshal(s)
	}
	return stacks.Parse(stacks.Input{
		Stack:                 stack,
		Project:               cfg[stacks.KeyProject],
		Region:                cfg[stacks.KeyRegion],
		Settings:              cfg[stacks.KeySettings],
		DatabaseAdminPassword: cfg[stacks.KeyDatabaseAdminPassword],
	})
}

// StandIns are the GCP outputs for a stack: the values GCP returns for the
// names the program gives (bucket, connection name, e-mails, address name).
func StandIns(cfg *stacks.Loaded) infra.ArgoInputs {
	n := stacks.NamesFor(cfg.Settings)
	p := cfg.Project
	return infra.ArgoInputs{
		StaticIPName:           pulumi.String(n.Base),
		Bucket:                 pulumi.String(n.Bucket),
		DatabaseConnectionName: pulumi.String(fmt.Sprintf("%s:%s:%s", p, cfg.Region, n.Base)),
		DatabaseName:           pulumi.String(n.Database),
		Emails: map[string]pulumi.StringInput{
			infra.Controller: pulumi.String(n.Controller.Email(p)),
			infra.Server:     pulumi.String(n.Server.Email(p)),
			infra.Workflow:   pulumi.String(n.Workflow.Email(p)),
		},
	}
}

// Program is the Kubernetes side of Deploy for cfg, on the cluster that
// kubeconfig reaches.
func Program(cfg *stacks.Loaded, kubeconfig string) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		provider, err := kubernetes.NewProvider(ctx, "local", kube.ProviderArgs(pulumi.String(kubeconfig)))
		if err != nil {
			return err
		}
		w, err := argo.NewWorkflows(ctx, "argo", infra.ArgoArgs(cfg, StandIns(cfg)), pulumi.Providers(provider))
		if err != nil {
			return err
		}
		ctx.Export("namespace", w.Namespace)
		return nil
	}
}

// Stack opens (or creates) a local stack for program, with its state in
// stateDir and the CLI and plugins from Tools().
func Stack(ctx context.Context, name, stateDir string, program pulumi.RunFunc) (auto.Stack, error) {
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
			Backend: &workspace.ProjectBackend{URL: "file://" + stateDir},
		}),
	)
}
