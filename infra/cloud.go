package infra

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/infra/argo"
	"github.com/argo-platform/argo-platform/infra/gcp"
	"github.com/argo-platform/argo-platform/infra/monitoring"
	"github.com/argo-platform/argo-platform/stacks"
)

// GCP is the Google Cloud side of a stack: what Argo runs on and reads from,
// and what the stack outputs show.
type GCP struct {
	Settings stacks.Settings
	Names    stacks.Names
	// Principals are the stack's accounts (Principals), decided once, each
	// with its e-mail once the Identity component has made its account.
	Principals []Principal
	Network    *gcp.Network
	Cluster    *gcp.Cluster
	Identity   *gcp.Identity
	Logs       *gcp.Logs
	Database   *gcp.Database
	Edge       *gcp.Edge
	Monitoring *gcp.Monitoring
}

// NewGCP registers the Google Cloud side of a validated stack, one
// component per concern, in the order their inputs need them.
func NewGCP(ctx *pulumi.Context, cfg *stacks.Loaded) (*GCP, error) {
	g := &GCP{Settings: cfg.Settings, Names: stacks.NamesFor(cfg.Settings), Principals: Principals(cfg.Settings)}
	b := &gcpBuilder{ctx: ctx, cfg: cfg, g: g, s: cfg.Settings, n: g.Names,
		project: pulumi.String(cfg.Project), region: pulumi.String(cfg.Region)}
	for _, step := range []func() error{
		b.services, b.network, b.cluster, b.identity, b.logs, b.database, b.monitoring, b.edge,
	} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// gcpBuilder registers NewGCP's components, each from the settings and the
// components before it.
type gcpBuilder struct {
	ctx             *pulumi.Context
	cfg             *stacks.Loaded
	g               *GCP
	s               stacks.Settings
	n               stacks.Names
	project, region pulumi.String
	// apis are the enabled project APIs: every GCP resource waits for the
	// ones it calls.
	apis []pulumi.Resource
}

func (b *gcpBuilder) email(key string) pulumi.StringInput {
	return principal(b.g.Principals, key).Email
}

func (b *gcpBuilder) services() error {
	var extra []string
	for _, wi := range b.s.Identities {
		if len(wi.Secrets) > 0 {
			// Granting a role on a secret calls Secret Manager's API.
			extra = append(extra, "secretmanager.googleapis.com")
			break
		}
	}
	services, err := gcp.NewServices(b.ctx, "apis", &gcp.ServicesArgs{Project: b.project, Extra: extra})
	if err != nil {
		return err
	}
	b.apis = services.Enabled
	return nil
}

func (b *gcpBuilder) network() (err error) {
	b.g.Network, err = gcp.NewNetwork(b.ctx, b.n.Base, &gcp.NetworkArgs{
		APIs:    b.apis,
		Project: b.project,
		Region:  b.region,
		Network: b.s.Network,
	})
	return err
}

func (b *gcpBuilder) cluster() (err error) {
	b.g.Cluster, err = gcp.NewCluster(b.ctx, b.n.Base, &gcp.ClusterArgs{
		APIs:             b.apis,
		Project:          b.project,
		Region:           b.region,
		Network:          b.g.Network.SelfLink,
		Subnet:           b.g.Network.SubnetID.ToStringOutput(),
		NodeAccountID:    b.n.NodeAccount,
		Cluster:          b.s.Cluster,
		ControlPlaneCIDR: b.s.Network.ControlPlaneCIDR,
		Protect:          b.s.Protect,
	})
	return err
}

func (b *gcpBuilder) identity() (err error) {
	b.g.Identity, err = gcp.NewIdentity(b.ctx, "identity", &gcp.IdentityArgs{
		APIs:     b.apis,
		Project:  b.s.Project,
		Cluster:  b.g.Cluster.Resource,
		Accounts: accounts(b.g.Principals),
	})
	if err != nil {
		return err
	}
	// Each principal's e-mail, once its account exists: everything after
	// this reads it from the principal.
	for i, p := range b.g.Principals {
		b.g.Principals[i].Email = b.g.Identity.Emails[p.Key]
	}
	return nil
}

func (b *gcpBuilder) logs() (err error) {
	b.g.Logs, err = gcp.NewLogs(b.ctx, "logs", &gcp.LogsArgs{
		APIs:       b.apis,
		Project:    b.project,
		Location:   b.region,
		BucketName: b.n.Bucket,
		Logs:       b.s.Logs,
		// The UI reads every step's logs; each workflow account writes into
		// its own folder (argo.KeyFormat), and nobody else writes.
		Readers: map[string]pulumi.StringInput{Server: b.email(Server)},
		Writers: b.logFolders(),
		Protect: b.s.Protect,
	})
	return err
}

// logFolders are the bucket folders of the accounts workflow pods run as:
// the default workflow account and each workflow identity.
func (b *gcpBuilder) logFolders() map[string]gcp.Folder {
	out := map[string]gcp.Folder{}
	for _, p := range b.g.Principals {
		if p.RunsWorkflows {
			out[p.Key] = gcp.Folder{Email: p.Email, Prefix: argo.LogPrefix(p.KSA)}
		}
	}
	return out
}

func (b *gcpBuilder) database() (err error) {
	b.g.Database, err = gcp.NewDatabase(b.ctx, b.n.Base, &gcp.DatabaseArgs{
		APIs:            b.apis,
		Project:         b.project,
		Region:          b.region,
		Network:         b.g.Network.ID.ToStringOutput(),
		PrivateServices: b.g.Network.PrivateServices,
		InstanceName:    b.n.Base,
		DatabaseName:    b.n.Database,
		Database:        b.s.Database,
		IAMUsers:        map[string]pulumi.StringInput{Controller: b.email(Controller), Server: b.email(Server)},
		AdminUser:       b.n.AdminUser,
		AdminPassword:   b.cfg.AdminPassword(),
		Protect:         b.s.Protect,
	})
	return err
}

// monitoring: alerts and the dashboard read the controller's metrics, which
// Managed Prometheus labels with the cluster and the namespace.
func (b *gcpBuilder) monitoring() (err error) {
	b.g.Monitoring, err = gcp.NewMonitoring(b.ctx, "monitoring", &gcp.MonitoringArgs{
		APIs:        b.apis,
		Project:     b.s.Project,
		Environment: b.s.Environment,
		Scope:       monitoring.Scope{Cluster: b.n.Base, Namespace: b.s.Argo.Namespace, RunsPerDay: b.s.Argo.ArchivedRunsPerDay},
		Alerts:      b.s.Alerts,
	})
	return err
}

func (b *gcpBuilder) edge() (err error) {
	b.g.Edge, err = gcp.NewEdge(b.ctx, "edge", &gcp.EdgeArgs{
		APIs:        b.apis,
		Project:     b.s.Project,
		AddressName: b.n.Base,
		Domain:      b.s.Domain,
		IAP:         b.s.IAP,
		DNS:         b.s.DNS,
	})
	return err
}

// accounts are the principals' Google service accounts by key.
func accounts(ps []Principal) map[string]gcp.Account {
	out := map[string]gcp.Account{}
	for _, p := range ps {
		out[p.Key] = p.Account
	}
	return out
}

// ArgoInputs are the GCP outputs Argo is built from. The IAM grants its
// pods need have no data path to them, so they travel as resources to wait
// for; the database users reach the pods as data.
func (g *GCP) ArgoInputs() ArgoInputs {
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
		Principals:     append([]Principal(nil), g.Principals...),
		Prerequisites:  append(append([]pulumi.Resource{}, g.Identity.Grants...), g.Logs.Grants...),
		Cluster:        g.Cluster.Resource,
		GoogleAPIsCIDR: g.Network.GoogleAPIs,
		GoogleAPIsDNS:  g.Network.GoogleAPIsDNS,
	}
}
