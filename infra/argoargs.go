package infra

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/infra/argo"
	"github.com/argo-platform/argo-platform/stacks"
)

// ArgoInputs are the GCP outputs the Argo component consumes (GCP.ArgoInputs
// on Google Cloud; stand-ins on the end-to-end tests' local cluster).
type ArgoInputs struct {
	StaticIPName, Bucket                 pulumi.StringInput
	DatabaseConnectionName, DatabaseName pulumi.StringInput
	// DatabaseUsers are the database's users, as the database has them.
	DatabaseUsers DatabaseUsers
	// Principals are the stack's accounts (Principals), each with its
	// Google account's e-mail.
	Principals []Principal
	// Prerequisites are the grants pods wait for; Cluster the DeletedWith
	// target. Both optional.
	Prerequisites []pulumi.Resource
	Cluster       pulumi.Resource
	// GoogleAPIsCIDR is where pods reach Google's APIs (the network's
	// private.googleapis.com). Required.
	GoogleAPIsCIDR string
	// GoogleAPIsDNS are what makes Google's API names resolve there; the
	// egress policies wait for them. Optional.
	GoogleAPIsDNS []pulumi.Resource
	// SignInIssuer is the OpenID Connect issuer argo-server signs people
	// in with. Optional: Google's (the end-to-end tests' provider stands in
	// for it).
	SignInIssuer string
}

// DatabaseUsers are the controller's and the server's IAM database users and
// the built-in admin, by the names the database has.
type DatabaseUsers struct {
	Controller, Server, Admin pulumi.StringInput
}

// ArgoArgs is the Argo component's configuration for a stack: its settings
// plus the GCP outputs. Deploy and the end-to-end tests both use it, so the
// tests deploy exactly what `pulumi up` deploys.
func ArgoArgs(cfg *stacks.Loaded, in ArgoInputs) *argo.WorkflowsArgs {
	s, n, a := cfg.Settings, stacks.NamesFor(cfg.Settings), cfg.Argo
	return &argo.WorkflowsArgs{
		Settings:     a,
		Environment:  s.Environment,
		Host:         s.Domain,
		StaticIPName: in.StaticIPName,
		Bucket:       in.Bucket,
		Database: argo.Database{
			ConnectionName: in.DatabaseConnectionName,
			Name:           in.DatabaseName,
			ControllerUser: in.DatabaseUsers.Controller,
			ServerUser:     in.DatabaseUsers.Server,
			AdminUser:      in.DatabaseUsers.Admin,
			AdminPassword:  cfg.AdminPassword(),
		},
		ClusterName: n.Base,
		Controller:  identity(principal(in.Principals, Controller)),
		Server:      identity(principal(in.Principals, Server)),
		Workflow:    identity(principal(in.Principals, Workflow)),
		Identities:  workflowIdentities(in.Principals, s.Identities),
		SignIn: argo.SignIn{
			Issuer:       in.SignInIssuer,
			ClientID:     s.Access.ClientID,
			ClientSecret: cfg.ClientSecret(),
			Viewers:      s.Viewers(),
			Runners:      s.Access.Runners,
			Editors:      s.Access.Editors,
		},
		Egress: argo.Egress{
			APIServerCIDR:  s.Network.ControlPlaneCIDR,
			GoogleAPIsCIDR: in.GoogleAPIsCIDR,
			DatabaseCIDR:   s.Network.PrivateServicesCIDR,
			NodesCIDR:      s.Network.SubnetCIDR,
			After:          in.GoogleAPIsDNS,
		},
		Links:            LoggingLinks(s.Project),
		Retain:           s.Protect,
		PodPrerequisites: in.Prerequisites,
		Cluster:          in.Cluster,
	}
}

// identity is principal p as the Argo component takes it: a Kubernetes
// ServiceAccount annotated with its Google account.
func identity(p Principal) argo.Identity {
	id := argo.Identity{KSA: p.KSA, GSA: p.Email}
	if p.RunsWorkflows && p.Key != Workflow {
		id.Namespace = p.Namespace
	}
	return id
}

// workflowIdentities are the stack's workflow identities: the principals
// workflow pods may run as, but the default workflow account, each with who
// may run as it (ids, by name).
func workflowIdentities(ps []Principal, ids []stacks.Identity) []argo.Identity {
	var out []argo.Identity
	for _, p := range ps {
		if p.RunsWorkflows && p.Key != Workflow {
			id := identity(p)
			for _, wi := range ids {
				if wi.Name == p.KSA {
					id.Runners = wi.Runners
				}
			}
			out = append(out, id)
		}
	}
	return out
}
