// Package infra is the whole argo-platform program. Deploy is what
// `pulumi up` runs (main.go), what the mock tests run and what the
// Automation API runs in the end-to-end tests.
package infra

import (
	"fmt"
	"path"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/infra/argo"
	"github.com/argo-platform/argo-platform/infra/gcp"
	"github.com/argo-platform/argo-platform/infra/monitoring"
	"github.com/argo-platform/argo-platform/stacks"
)

// Component keys for the per-component identities.
const (
	Controller = "controller"
	Server     = "server"
	Workflow   = "workflow"
)

// IdentityKey is the key of workflow identity name among the accounts (apart
// from the components' keys whatever the name).
func IdentityKey(name string) string { return "wf-" + name }

func emails(m map[string]pulumi.StringOutput) map[string]pulumi.StringInput {
	out := map[string]pulumi.StringInput{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

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

// GCP is what the Google Cloud side hands to the Argo component and to the
// stack outputs.
type GCP struct {
	Settings stacks.Settings
	Names    stacks.Names
	Network  *gcp.Network
	Cluster  *gcp.Cluster
	Identity *gcp.Identity
	Logs     *gcp.Logs
	Database *gcp.Database
	Edge     *gcp.Edge
	Argo     *argo.Workflows
	// Monitoring is the alert policies and the dashboard.
	Monitoring *gcp.Monitoring
}

// Platform registers every resource of a validated stack.
func Platform(ctx *pulumi.Context, cfg *stacks.Loaded) (*GCP, error) {
	s := cfg.Settings
	n := stacks.NamesFor(s)
	project, region := pulumi.String(s.Project), pulumi.String(s.Region)

	var extra []string
	if s.DNS.ManagedZone != "" {
		extra = append(extra, "dns.googleapis.com")
	}
	services, err := gcp.NewServices(ctx, "apis", &gcp.ServicesArgs{Project: project, Extra: extra})
	if err != nil {
		return nil, err
	}
	// Every GCP resource waits for the APIs it calls.
	apis := services.Enabled

	network, err := gcp.NewNetwork(ctx, n.Base, &gcp.NetworkArgs{
		APIs:                apis,
		Project:             project,
		Region:              region,
		SubnetCIDR:          s.Network.SubnetCIDR,
		PodsCIDR:            s.Network.PodsCIDR,
		ServicesCIDR:        s.Network.ServicesCIDR,
		PrivateServicesCIDR: s.Network.PrivateServicesCIDR,
	})
	if err != nil {
		return nil, err
	}

	var authorized []gcp.AuthorizedNetwork
	for _, an := range s.Cluster.AuthorizedNetworks {
		authorized = append(authorized, gcp.AuthorizedNetwork{Name: an.Name, CIDR: an.CIDR})
	}
	cluster, err := gcp.NewCluster(ctx, n.Base, &gcp.ClusterArgs{
		APIs:                apis,
		Project:             project,
		Region:              region,
		Network:             network.SelfLink,
		Subnet:              network.SubnetID.ToStringOutput(),
		NodeAccountID:       n.NodeAccount,
		ReleaseChannel:      s.Cluster.ReleaseChannel,
		ControlPlaneCIDR:    s.Network.ControlPlaneCIDR,
		AuthorizedNetworks:  authorized,
		MaintenanceStartUTC: s.Cluster.MaintenanceStartUTC,
		DeletionProtection:  s.Cluster.DeletionProtection,
		Protect:             s.Protect,
	})
	if err != nil {
		return nil, err
	}

	// Each Kubernetes ServiceAccount in the namespace it lives in: the
	// workflow accounts are in the workflow namespace.
	accounts := map[string]gcp.Account{
		Controller: {ID: n.Controller.ID, Namespace: s.Argo.Namespace, KSA: n.Controller.KSA, DisplayName: "Argo workflow-controller (" + s.Environment + ")", DatabaseClient: true},
		Server:     {ID: n.Server.ID, Namespace: s.Argo.Namespace, KSA: n.Server.KSA, DisplayName: "Argo server (" + s.Environment + ")", DatabaseClient: true},
		Workflow:   {ID: n.Workflow.ID, Namespace: s.Argo.WorkflowNamespace, KSA: n.Workflow.KSA, DisplayName: "Argo workflow pods (" + s.Environment + ")"},
	}
	for _, wi := range s.Identities {
		a := gcp.Account{
			ID: stacks.IdentityAccountID(wi, s.Environment), Namespace: s.Argo.WorkflowNamespace, KSA: wi.Name,
			DisplayName: "Argo workflow identity " + wi.Name + " (" + s.Environment + ")", Description: wi.Description,
			ProjectRoles: wi.ProjectRoles,
		}
		for _, d := range wi.Datasets {
			a.Datasets = append(a.Datasets, gcp.ResourceRole{Resource: d.Dataset, Role: d.Role})
		}
		for _, b := range wi.Buckets {
			a.Buckets = append(a.Buckets, gcp.ResourceRole{Resource: b.Bucket, Role: b.Role})
		}
		accounts[IdentityKey(wi.Name)] = a
	}
	identity, err := gcp.NewIdentity(ctx, "identity", &gcp.IdentityArgs{
		APIs:     apis,
		Project:  s.Project,
		Cluster:  cluster.Resource,
		Accounts: accounts,
	})
	if err != nil {
		return nil, err
	}
	email := func(key string) pulumi.StringInput { return identity.Emails[key] }

	logs, err := gcp.NewLogs(ctx, "logs", &gcp.LogsArgs{
		APIs:          apis,
		Project:       project,
		Location:      region,
		BucketName:    n.Bucket,
		RetentionDays: s.Logs.RetentionDays,
		ForceDestroy:  s.Logs.ForceDestroy,
		Readers:       map[string]pulumi.StringInput{Server: email(Server)},
		Writers:       map[string]pulumi.StringInput{Controller: email(Controller), Workflow: email(Workflow)},
		Protect:       s.Protect,
	})
	if err != nil {
		return nil, err
	}

	database, err := gcp.NewDatabase(ctx, n.Base, &gcp.DatabaseArgs{
		APIs:            apis,
		Project:         project,
		Region:          region,
		Network:         network.ID.ToStringOutput(),
		PrivateServices: network.PrivateServices,
		InstanceName:    n.Base,
		DatabaseName:    n.Database,
		Settings:        s.Database,
		IAMUsers:        map[string]pulumi.StringInput{Controller: email(Controller), Server: email(Server)},
		AdminUser:       n.AdminUser,
		AdminPassword:   cfg.AdminPassword(),
		Protect:         s.Protect,
	})
	if err != nil {
		return nil, err
	}

	// Alerts and the dashboard read the controller's metrics, which
	// Managed Prometheus labels with the cluster and the namespace.
	alerts, err := gcp.NewMonitoring(ctx, "monitoring", &gcp.MonitoringArgs{
		APIs:        apis,
		Project:     s.Project,
		Environment: s.Environment,
		Scope:       monitoring.Scope{Cluster: n.Base, Namespace: s.Argo.Namespace},
		Emails:      s.Alerts.Emails,
	})
	if err != nil {
		return nil, err
	}

	edge, err := gcp.NewEdge(ctx, "edge", &gcp.EdgeArgs{
		APIs:        apis,
		Project:     s.Project,
		AddressName: n.Base,
		Domain:      s.Domain,
		Members:     s.IAP.Members,
		ManagedZone: s.DNS.ManagedZone,
	})
	if err != nil {
		return nil, err
	}

	// Argo on top, fed only the GCP outputs, deployed with the cluster's
	// provider.
	var prerequisites []pulumi.Resource
	prerequisites = append(prerequisites, identity.Grants...)
	prerequisites = append(prerequisites, logs.Grants...)
	prerequisites = append(prerequisites, database.Grants...)
	workflows, err := argo.NewWorkflows(ctx, "argo", ArgoArgs(cfg, ArgoInputs{
		StaticIPName:           edge.AddressName,
		Bucket:                 logs.Bucket,
		DatabaseConnectionName: database.ConnectionName,
		DatabaseName:           database.DatabaseName,
		Emails:                 emails(identity.Emails),
		Prerequisites:          prerequisites,
		Cluster:                cluster.Resource,
	}), pulumi.Providers(cluster.Provider))
	if err != nil {
		return nil, err
	}

	return &GCP{
		Settings: s, Names: n,
		Network: network, Cluster: cluster, Identity: identity,
		Logs: logs, Database: database, Edge: edge, Argo: workflows,
		Monitoring: alerts,
	}, nil
}

// Outputs are the stack outputs a user needs, by name.
func (p *GCP) Outputs() map[string]pulumi.Input {
	return map[string]pulumi.Input{
		"argoURL":           pulumi.String(fmt.Sprintf("https://%s/", p.Settings.Domain)),
		"staticIP":          p.Edge.Address,
		"staticIPName":      p.Edge.AddressName,
		"logBucket":         p.Logs.Bucket,
		"sqlConnectionName": p.Database.ConnectionName,
		"clusterName":       p.Cluster.Name,
		"argoNamespace":     p.Argo.Namespace,
		"workflowNamespace": p.Argo.WorkflowNamespace,
		// The team's dashboard in Cloud Monitoring.
		"dashboardURL": p.Monitoring.DashboardID.ApplyT(func(id string) string {
			return fmt.Sprintf("https://console.cloud.google.com/monitoring/dashboards/builder/%s?project=%s", path.Base(id), p.Settings.Project)
		}).(pulumi.StringOutput),
		"serviceAccounts": pulumi.StringMap{
			Controller: p.Identity.Emails[Controller],
			Server:     p.Identity.Emails[Server],
			Workflow:   p.Identity.Emails[Workflow],
		},
		// Secret: it names the cluster's endpoint and CA.
		"kubeconfig": p.Cluster.Kubeconfig,
	}
}

// Export publishes Outputs on the stack.
func (p *GCP) Export(ctx *pulumi.Context) {
	for name, value := range p.Outputs() {
		ctx.Export(name, value)
	}
}

// ArgoInputs are the GCP outputs the Argo component consumes.
type ArgoInputs struct {
	StaticIPName, Bucket                 pulumi.StringInput
	DatabaseConnectionName, DatabaseName pulumi.StringInput
	// Emails are the service account e-mails by component key.
	Emails map[string]pulumi.StringInput
	// Prerequisites are the grants pods wait for; Cluster the DeletedWith
	// target. Both optional.
	Prerequisites []pulumi.Resource
	Cluster       pulumi.Resource
}

// ArgoArgs is the Argo component's configuration for a stack: its settings
// plus the GCP outputs. Deploy and the end-to-end tests both use it, so the
// tests deploy exactly what `pulumi up` deploys.
func ArgoArgs(cfg *stacks.Loaded, in ArgoInputs) *argo.WorkflowsArgs {
	s, n, a := cfg.Settings, stacks.NamesFor(cfg.Settings), cfg.Argo
	return &argo.WorkflowsArgs{
		Namespace:         a.Namespace,
		WorkflowNamespace: a.WorkflowNamespace,
		WorkflowSecrets:   a.WorkflowSecrets,
		Version:           a.Version,
		Environment:       s.Environment,
		Host:              s.Domain,
		StaticIPName:      in.StaticIPName,
		Bucket:            in.Bucket,
		Database: argo.Database{
			ConnectionName: in.DatabaseConnectionName,
			Name:           in.DatabaseName,
			AdminUser:      n.AdminUser,
			AdminPassword:  cfg.AdminPassword(),
		},
		ClusterName: n.Base,
		Controller:  argo.Identity{KSA: n.Controller.KSA, GSA: in.Emails[Controller]},
		Server:      argo.Identity{KSA: n.Server.KSA, GSA: in.Emails[Server]},
		Workflow:    argo.Identity{KSA: n.Workflow.KSA, GSA: in.Emails[Workflow]},
		Identities:  workflowIdentities(s, in.Emails),
		Throughput: argo.Throughput{
			Parallelism:          a.Parallelism,
			NamespaceParallelism: a.NamespaceParallelism,
			PodsPerSecond:        a.PodsPerSecond,
			PodBurst:             a.PodBurst,
			RequeueSeconds:       a.RequeueSeconds,
			WorkflowWorkers:      a.WorkflowWorkers,
			APIQPS:               a.APIQPS,
			APIBurst:             a.APIBurst,
		},
		ServerReplicas:   a.ServerReplicas,
		ArchiveTTLDays:   a.ArchiveTTLDays,
		WorkflowTTLHours: a.WorkflowTTLHours,
		SpotSteps:        a.SpotSteps,
		Links:            LoggingLinks(s.Project),
		PodPrerequisites: in.Prerequisites,
		Cluster:          in.Cluster,
	}
}

// workflowIdentities are the stack's workflow identities as the Argo
// component takes them: a KSA each, annotated with its GSA.
func workflowIdentities(s stacks.Settings, emails map[string]pulumi.StringInput) []argo.Identity {
	var out []argo.Identity
	for _, wi := range s.Identities {
		out = append(out, argo.Identity{KSA: wi.Name, GSA: emails[IdentityKey(wi.Name)]})
	}
	return out
}
