package infra

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/infra/gcp"
	"github.com/argo-platform/argo-platform/infra/monitoring"
	"github.com/argo-platform/argo-platform/stacks"
)

// Component keys of the per-component identities.
const (
	Controller = "controller"
	Server     = "server"
	Workflow   = "workflow"
)

// IdentityKey is the key of workflow identity name among the accounts (apart
// from the components' keys whatever the name).
func IdentityKey(name string) string { return "wf-" + name }

// GCP is the Google Cloud side of a stack: what Argo runs on and reads from,
// and what the stack outputs show.
type GCP struct {
	Settings   stacks.Settings
	Names      stacks.Names
	Network    *gcp.Network
	Cluster    *gcp.Cluster
	Identity   *gcp.Identity
	Logs       *gcp.Logs
	Database   *gcp.Database
	Edge       *gcp.Edge
	Monitoring *gcp.Monitoring
}

// NewGCP registers the Google Cloud side of a validated stack. Every
// resource waits for the project APIs it calls.
func NewGCP(ctx *pulumi.Context, cfg *stacks.Loaded) (*GCP, error) {
	s := cfg.Settings
	g := &GCP{Settings: s, Names: stacks.NamesFor(s)}
	n := g.Names
	project, region := pulumi.String(s.Project), pulumi.String(s.Region)

	var extra []string
	if s.DNS.ManagedZone != "" {
		extra = append(extra, "dns.googleapis.com")
	}
	services, err := gcp.NewServices(ctx, "apis", &gcp.ServicesArgs{Project: project, Extra: extra})
	if err != nil {
		return nil, err
	}
	apis := services.Enabled

	if g.Network, err = gcp.NewNetwork(ctx, n.Base, &gcp.NetworkArgs{
		APIs:                apis,
		Project:             project,
		Region:              region,
		SubnetCIDR:          s.Network.SubnetCIDR,
		PodsCIDR:            s.Network.PodsCIDR,
		ServicesCIDR:        s.Network.ServicesCIDR,
		PrivateServicesCIDR: s.Network.PrivateServicesCIDR,
	}); err != nil {
		return nil, err
	}

	var authorized []gcp.AuthorizedNetwork
	for _, an := range s.Cluster.AuthorizedNetworks {
		authorized = append(authorized, gcp.AuthorizedNetwork{Name: an.Name, CIDR: an.CIDR})
	}
	if g.Cluster, err = gcp.NewCluster(ctx, n.Base, &gcp.ClusterArgs{
		APIs:                apis,
		Project:             project,
		Region:              region,
		Network:             g.Network.SelfLink,
		Subnet:              g.Network.SubnetID.ToStringOutput(),
		NodeAccountID:       n.NodeAccount,
		ReleaseChannel:      s.Cluster.ReleaseChannel,
		ControlPlaneCIDR:    s.Network.ControlPlaneCIDR,
		AuthorizedNetworks:  authorized,
		MaintenanceStartUTC: s.Cluster.MaintenanceStartUTC,
		DeletionProtection:  s.Cluster.DeletionProtection,
		Protect:             s.Protect,
	}); err != nil {
		return nil, err
	}

	if g.Identity, err = gcp.NewIdentity(ctx, "identity", &gcp.IdentityArgs{
		APIs:     apis,
		Project:  s.Project,
		Cluster:  g.Cluster.Resource,
		Accounts: accounts(s, n),
	}); err != nil {
		return nil, err
	}
	email := func(key string) pulumi.StringInput { return g.Identity.Emails[key] }

	if g.Logs, err = gcp.NewLogs(ctx, "logs", &gcp.LogsArgs{
		APIs:          apis,
		Project:       project,
		Location:      region,
		BucketName:    n.Bucket,
		RetentionDays: s.Logs.RetentionDays,
		ForceDestroy:  s.Logs.ForceDestroy,
		Readers:       map[string]pulumi.StringInput{Server: email(Server)},
		Writers:       map[string]pulumi.StringInput{Controller: email(Controller), Workflow: email(Workflow)},
		Protect:       s.Protect,
	}); err != nil {
		return nil, err
	}

	d := s.Database
	if g.Database, err = gcp.NewDatabase(ctx, n.Base, &gcp.DatabaseArgs{
		APIs:                 apis,
		Project:              project,
		Region:               region,
		Network:              g.Network.ID.ToStringOutput(),
		PrivateServices:      g.Network.PrivateServices,
		InstanceName:         n.Base,
		DatabaseName:         n.Database,
		Tier:                 d.Tier,
		Version:              d.Version,
		HighAvailability:     d.HighAvailability,
		DiskSizeGB:           d.DiskSizeGB,
		Backups:              d.Backups,
		PointInTimeRecovery:  d.PointInTimeRecovery,
		BackupRetentionCount: d.BackupRetentionCount,
		LogRetentionDays:     d.LogRetentionDays,
		DeletionProtection:   d.DeletionProtection,
		MaintenanceDay:       d.MaintenanceDay,
		MaintenanceHour:      d.MaintenanceHour,
		IAMUsers:             map[string]pulumi.StringInput{Controller: email(Controller), Server: email(Server)},
		AdminUser:            n.AdminUser,
		AdminPassword:        cfg.AdminPassword(),
		Protect:              s.Protect,
	}); err != nil {
		return nil, err
	}

	// Alerts and the dashboard read the controller's metrics, which
	// Managed Prometheus labels with the cluster and the namespace.
	if g.Monitoring, err = gcp.NewMonitoring(ctx, "monitoring", &gcp.MonitoringArgs{
		APIs:        apis,
		Project:     s.Project,
		Environment: s.Environment,
		Scope:       monitoring.Scope{Cluster: n.Base, Namespace: s.Argo.Namespace},
		Emails:      s.Alerts.Emails,
	}); err != nil {
		return nil, err
	}

	if g.Edge, err = gcp.NewEdge(ctx, "edge", &gcp.EdgeArgs{
		APIs:        apis,
		Project:     s.Project,
		AddressName: n.Base,
		Domain:      s.Domain,
		Members:     s.IAP.Members,
		ManagedZone: s.DNS.ManagedZone,
	}); err != nil {
		return nil, err
	}
	return g, nil
}

// accounts are the Google service accounts of a stack by key: one per Argo
// component (seed lesson: each runs as its own, explicit account) and one
// per workflow identity, each with the Kubernetes ServiceAccount that acts
// as it, in the namespace that account lives in.
func accounts(s stacks.Settings, n stacks.Names) map[string]gcp.Account {
	out := map[string]gcp.Account{
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
		out[IdentityKey(wi.Name)] = a
	}
	return out
}

// ArgoInputs are the GCP outputs Argo is built from. The IAM grants its
// pods need have no data path to them, so they travel as resources to wait
// for; the database users reach the pods as data.
func (g *GCP) ArgoInputs() ArgoInputs {
	emails := map[string]pulumi.StringInput{}
	for k, v := range g.Identity.Emails {
		emails[k] = v
	}
	return ArgoInputs{
		StaticIPName:           g.Edge.AddressName,
		Bucket:                 g.Logs.Bucket,
		DatabaseConnectionName: g.Database.ConnectionName,
		DatabaseName:           g.Database.DatabaseName,
		DatabaseUsers: DatabaseUsers{
			Controller: g.Database.Users[Controller],
			Server:     g.Database.Users[Server],
			Admin:      g.Database.AdminUser,
		},
		Emails:        emails,
		Prerequisites: append(append([]pulumi.Resource{}, g.Identity.Grants...), g.Logs.Grants...),
		Cluster:       g.Cluster.Resource,
	}
}
