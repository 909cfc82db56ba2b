// Package infra is the whole argo-platform program: it wires the stack's
// settings (stacks) into the Google Cloud components (infra/gcp), and their
// outputs into Argo Workflows (infra/argo). Deploy is what `pulumi up` runs
// (main.go), what the mock tests run and, for its Argo half, what the
// Automation API runs in the end-to-end tests. docs/architecture.md has the
// picture.
package infra

import (
	"fmt"
	"path"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/infra/argo"
	"github.com/argo-platform/argo-platform/infra/kube"
	"github.com/argo-platform/argo-platform/stacks"
)

// Deploy loads and validates the stack's settings, then builds the platform:
// the GCP side first, then Argo Workflows on top of its outputs.
func Deploy(ctx *pulumi.Context) error {
	cfg, err := stacks.Load(ctx)
	if err != nil {
		// Nothing has been registered: bad input creates nothing.
		return err
	}
	p, err := Platform(ctx, cfg)
	if err != nil {
		return err
	}
	p.Export(ctx)
	return nil
}

// Built is everything one stack registers: the Google Cloud side and Argo
// Workflows in its cluster.
type Built struct {
	GCP  *GCP
	Argo *argo.Workflows
}

// Platform registers every resource of a validated stack.
func Platform(ctx *pulumi.Context, cfg *stacks.Loaded) (*Built, error) {
	g, err := NewGCP(ctx, cfg)
	if err != nil {
		return nil, err
	}
	// Argo deploys into the cluster through a provider of its own. It is
	// parented to the cluster's component, where earlier releases created
	// it: its URN, and with it every Kubernetes object's, stays the same.
	provider, err := kube.NewProvider(ctx, g.Names.Base, pulumi.Unsecret(g.Cluster.Kubeconfig).(pulumi.StringOutput),
		pulumi.Parent(g.Cluster))
	if err != nil {
		return nil, fmt.Errorf("kubernetes provider: %w", err)
	}
	workflows, err := argo.NewWorkflows(ctx, "argo", ArgoArgs(cfg, g.ArgoInputs()), pulumi.Providers(provider))
	if err != nil {
		return nil, err
	}
	return &Built{GCP: g, Argo: workflows}, nil
}

// Outputs are the stack outputs a user needs, by name.
func (p *Built) Outputs() map[string]pulumi.Input {
	g := p.GCP
	return map[string]pulumi.Input{
		"argoURL":           pulumi.String(fmt.Sprintf("https://%s/", g.Settings.Domain)),
		"staticIP":          g.Edge.Address,
		"staticIPName":      g.Edge.AddressName,
		"logBucket":         g.Logs.Bucket,
		"sqlConnectionName": g.Database.ConnectionName,
		"clusterName":       g.Cluster.Name,
		"argoNamespace":     p.Argo.Namespace,
		"workflowNamespace": p.Argo.WorkflowNamespace,
		// Where each workflow identity's workflows run, by its name.
		"identityNamespaces": p.Argo.IdentityNamespaces,
		// The team's dashboard in Cloud Monitoring.
		"dashboardURL": g.Monitoring.DashboardID.ApplyT(func(id string) string {
			return fmt.Sprintf("https://console.cloud.google.com/monitoring/dashboards/builder/%s?project=%s", path.Base(id), g.Settings.Project)
		}).(pulumi.StringOutput),
		"serviceAccounts": pulumi.StringMap{
			Controller: principal(g.Principals, Controller).Email,
			Server:     principal(g.Principals, Server).Email,
			Workflow:   principal(g.Principals, Workflow).Email,
		},
		// Secret: it names the cluster's endpoint and CA.
		"kubeconfig": g.Cluster.Kubeconfig,
	}
}

// Export publishes Outputs on the stack.
func (p *Built) Export(ctx *pulumi.Context) {
	for name, value := range p.Outputs() {
		ctx.Export(name, value)
	}
}
