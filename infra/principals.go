package infra

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/infra/gcp"
	"github.com/argo-platform/argo-platform/stacks"
)

// Keys of the Argo components' principals.
const (
	Controller = "controller"
	Server     = "server"
	Workflow   = "workflow"
)

// A Principal is one account the platform creates, decided once here and
// handed to both sides: the Google side creates its service account, the
// Workload Identity binding of its Kubernetes ServiceAccount and its grants;
// the Argo side creates that Kubernetes ServiceAccount, annotated with the
// Google account's e-mail.
type Principal struct {
	// Key names the principal's resources: a component's key, or
	// "wf-<name>" for a workflow identity (apart from the components'
	// keys whatever the name).
	Key string
	// Account is the Google service account, the Kubernetes ServiceAccount
	// (and its namespace) that acts as it, and its grants.
	gcp.Account
	// RunsWorkflows is set on the accounts workflow pods may run as (the
	// workflow account and each identity): each gets a log folder of its
	// own and a place in the admission policy's allowlist.
	RunsWorkflows bool
	// Email is the Google account's e-mail, set once the Google side has
	// created it (NewGCP, right after the Identity component; the e2e's
	// stand-ins).
	Email pulumi.StringInput
}

// Principals are a stack's accounts: one per Argo component (seed lesson:
// each runs as its own, explicit account) and one per workflow identity.
func Principals(s stacks.Settings) []Principal {
	n := stacks.NamesFor(s)
	env := " (" + s.Environment + ")"
	out := []Principal{
		{Key: Controller, Account: gcp.Account{ID: n.Controller.ID, Namespace: s.Argo.Namespace, KSA: n.Controller.KSA, DisplayName: "Argo workflow-controller" + env, DatabaseClient: true}},
		{Key: Server, Account: gcp.Account{ID: n.Server.ID, Namespace: s.Argo.Namespace, KSA: n.Server.KSA, DisplayName: "Argo server" + env, DatabaseClient: true}},
		{Key: Workflow, RunsWorkflows: true, Account: gcp.Account{ID: n.Workflow.ID, Namespace: s.Argo.WorkflowNamespace, KSA: n.Workflow.KSA, DisplayName: "Argo workflow pods" + env}},
	}
	for _, wi := range s.Identities {
		a := gcp.Account{
			// Its own namespace: Argo trusts a step's results by namespace
			// (stacks.IdentityNamespace).
			ID: stacks.IdentityAccountID(wi, s.Environment), Namespace: stacks.IdentityNamespace(s, wi), KSA: wi.Name,
			DisplayName: "Argo workflow identity " + wi.Name + env, Description: wi.Description,
			Grants: wi.Grants,
		}
		out = append(out, Principal{Key: "wf-" + wi.Name, RunsWorkflows: true, Account: a})
	}
	return out
}

// principal is the one of ps with key (the components' are always there).
func principal(ps []Principal, key string) Principal {
	for _, p := range ps {
		if p.Key == key {
			return p
		}
	}
	panic("infra: no principal " + key)
}
