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
	// Emails are the service account e-mails by component key.
	Emails map[string]pulumi.StringInput
	// Prerequisites are the grants pods wait for; Cluster the DeletedWith
	// target. Both optional.
	Prerequisites []pulumi.Resource
	Cluster       pulumi.Resource
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
			ControllerUser: in.DatabaseUsers.Controller,
			ServerUser:     in.DatabaseUsers.Server,
			AdminUser:      in.DatabaseUsers.Admin,
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
