package stacks

import (
	"github.com/argo-platform/argo-platform/infra/argo/argoproj"
	"github.com/argo-platform/argo-platform/infra/gcp/google"
)

// Names are the resource names derived from a stack's settings: one place
// decides them, so validation can check their length limits before anything
// is created.
type Names struct {
	// Base is argo-<env>: the cluster, network, SQL instance and the seed's
	// global static IP are all called this.
	Base string
	// Bucket is the log bucket, globally unique because it starts with the
	// project id.
	Bucket string
	// Database is the PostgreSQL database Argo uses.
	Database string
	// AdminUser is the built-in database user that runs the bootstrap grants.
	AdminUser string
	// Accounts are the per-component service account ids.
	Controller, Server, Workflow Account
	// NodeAccount is the GKE nodes' own service account id (no KSA).
	NodeAccount string
}

// Account names one component's Google service account and the Kubernetes
// ServiceAccount that impersonates it through Workload Identity.
type Account struct {
	// ID is the GSA account id (6-30 characters).
	ID string
	// KSA is the Kubernetes ServiceAccount name (in Argo's namespace, or the
	// workflow namespace for the workflow account).
	KSA string
}

// Email is the GSA's e-mail in project.
func (a Account) Email(project string) string { return google.ServiceAccountEmail(a.ID, project) }

// NamesFor derives every name from the settings.
func NamesFor(s Settings) Names {
	base := "argo-" + s.Environment
	return Names{
		Base:      base,
		Bucket:    s.Project + "-argo-logs-" + s.Environment,
		Database:  "argo",
		AdminUser: "argo-admin",
		// Seed lesson: each component runs as its own, explicit account.
		Controller: Account{ID: "argo-ctrl-" + s.Environment, KSA: "argo-workflow-controller"},
		Server:     Account{ID: "argo-server-" + s.Environment, KSA: "argo-server"},
		Workflow:   Account{ID: "argo-wf-" + s.Environment, KSA: "argo-workflow"},
		// The nodes run as an account of their own, never the project's
		// default Compute Engine account (often Editor).
		NodeAccount: "argo-nodes-" + s.Environment,
	}
}

// IdentityAccountID is workflow identity id's Google service account id.
func IdentityAccountID(id Identity, environment string) string { return id.Name + "-" + environment }

// IdentityNamespace is workflow identity id's namespace in the stack, where
// its account lives and its workflows run (argoproj.IdentityNamespace).
func IdentityNamespace(s Settings, id Identity) string {
	return argoproj.IdentityNamespace(s.Argo.WorkflowNamespace, id.Name)
}
