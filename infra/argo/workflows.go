// Package argo deploys Argo Workflows into a cluster, its home namespace
// apart from the workflow namespaces (one per account workflows run as):
// CRDs, service accounts, RBAC (rbac.go), the controller ConfigMap
// (config.go, configmap.go), the database grants (database.go), the
// controller and the server with their Cloud SQL Auth Proxy sidecars
// (pods.go), the workflow namespace's admission policy (admission.go), the
// Ingress behind IAP (edge.go), network policies (network.go) and metrics
// scraping (metrics.go). It takes only inputs and knows no cloud client:
// infra wires the GCP outputs into WorkflowsArgs.
package argo

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/infra/argo/argoproj"
)

const typeToken = "argo-platform:argo:Workflows"

// Identity is one component's Kubernetes ServiceAccount and the Google
// service account it acts as through Workload Identity.
type Identity struct {
	// KSA is the Kubernetes ServiceAccount name. Required.
	KSA string
	// Namespace is a workflow identity's own namespace, where its account
	// lives and its workflows run (argoproj.IdentityNamespace). Required for
	// Identities, unused for the components (Argo's home) and the workflow
	// account (WorkflowNamespace).
	Namespace string
	// Runners may run workflows as a workflow identity (argoproj access
	// members). Identities only.
	Runners []string
	// GSA is the Google service account e-mail (the KSA's
	// iam.gke.io/gcp-service-account annotation). Required.
	GSA pulumi.StringInput
}

// Database is how Argo reaches PostgreSQL.
type Database struct {
	// ConnectionName is the Cloud SQL instance, project:region:name, that
	// each Auth Proxy sidecar dials. Required.
	ConnectionName pulumi.StringInput
	// Name is Argo's database. Required.
	Name pulumi.StringInput
	// ControllerUser and ServerUser are the IAM database users of the
	// controller's and the server's GSAs: the users their Auth Proxies log
	// in as, so the only names they may present. The grant Jobs, and
	// through them the Deployments, wait for these users. Required.
	ControllerUser, ServerUser pulumi.StringInput
	// AdminUser and AdminPassword are the built-in user the one-time grant
	// Job logs in as. Required.
	AdminUser     pulumi.StringInput
	AdminPassword pulumi.StringInput
}

// WorkflowsArgs configures Workflows.
type WorkflowsArgs struct {
	// Settings is the settings' argo section (argoproj.Settings, checked by
	// its own rules before anything is registered): the release; Namespace,
	// created as Argo's home (the controller, the server, the database
	// grant Job and their Secrets); WorkflowNamespace, created as where
	// workflows that name no identity run (it holds only the workflow
	// account, the executor's account and WorkflowSecrets, and an admission
	// policy refuses pods that use anything else); the controller's
	// throughput; the server's
	// replicas; how long workflows are kept; Spot steps. Required.
	argoproj.Settings
	// Environment labels every object (env=<environment>). Required.
	Environment string
	// Host is the UI's domain; the managed certificate is issued for it.
	// Required.
	Host string
	// StaticIPName is the global address the Ingress binds to, by name.
	// Required.
	StaticIPName pulumi.StringInput
	// Bucket receives archived step logs and artifacts. Required.
	Bucket pulumi.StringInput
	// Database is the archive and status offload. Required.
	Database Database
	// ClusterName tells archived workflows apart (persistence.clusterName).
	// Required.
	ClusterName string
	// Controller, Server and Workflow are the three identities. Required.
	Controller, Server, Workflow Identity
	// Identities are the workflow identities, each a KSA in a namespace of
	// its own (Identity.Namespace, created here like WorkflowNamespace, with
	// its own executor account): a workflow runs as an identity by running
	// in its namespace and naming it. One namespace per account, because
	// Argo trusts a step's results by namespace: a WorkflowTaskResult counts
	// only for workflows of its own namespace, so whatever a step can do
	// with its namespace's executor token reaches only workflows that run as
	// the same account. Optional.
	Identities []Identity
	// SignIn is how argo-server signs people in and what each may do.
	// Required.
	SignIn SignIn
	// Egress is where Argo's pods may connect. Required.
	Egress Egress
	// Links are buttons in the UI (e.g. Cloud Logging for a workflow or pod).
	// Optional.
	Links []Link
	// PodPrerequisites are the IAM bindings and bucket grants the pods
	// need: the Deployments wait for them, so a first `pulumi up` does not
	// start pods that crash. (The database users need no entry: they reach
	// the pods as data, Database.) Optional.
	PodPrerequisites []pulumi.Resource
	// Retain keeps the namespaces and the CRDs in the cluster whenever
	// Pulumi deletes them (a namespace moved in the settings, a renamed
	// resource, destroy): what they hold, the CronWorkflows, the
	// WorkflowTemplates, the event bindings and Secrets made by hand and
	// every object of Argo's kinds, is never deleted with them. Optional;
	// production sets it (stacks' protect).
	Retain bool
	// Cluster is the cluster everything runs in: objects that exist only in
	// the cluster are DeletedWith it (destroying the cluster removes them
	// anyway); the namespace, the Service and the Ingress, which hold load
	// balancer and NEG resources outside it, are deleted by Pulumi first.
	// Optional.
	Cluster pulumi.Resource
	// Images overrides the container images. Optional; each empty field gets
	// its default (Argo's images at Version, Cloud SQL Auth Proxy 2.14.2,
	// postgres:17-alpine for the grant Job's psql).
	Images Images
}

// Images are the container images used.
type Images struct {
	Controller, Server, Executor, Proxy, Postgres string
}

// Default image repositories.
const (
	argoImages   = "quay.io/argoproj/"
	proxyImage   = "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.2"
	psqlImage    = "postgres:17-alpine"
	dataPlaneApp = "argo-workflows"
)

func (a *WorkflowsArgs) images() Images {
	im := a.Images
	if im.Controller == "" {
		im.Controller = argoImages + "workflow-controller:" + a.Version
	}
	if im.Server == "" {
		im.Server = argoImages + "argocli:" + a.Version
	}
	if im.Executor == "" {
		im.Executor = argoImages + "argoexec:" + a.Version
	}
	if im.Proxy == "" {
		im.Proxy = proxyImage
	}
	if im.Postgres == "" {
		im.Postgres = psqlImage
	}
	return im
}

// Workflows is Argo Workflows installed in one namespace.
type Workflows struct {
	pulumi.ResourceState

	// Namespace is Argo's home; WorkflowNamespace where workflows that name
	// no identity run.
	Namespace, WorkflowNamespace pulumi.StringOutput
	// IdentityNamespaces are where each workflow identity's workflows run,
	// by its account's name.
	IdentityNamespaces pulumi.StringMapOutput
}

// NewWorkflows installs Argo Workflows.
func NewWorkflows(ctx *pulumi.Context, name string, args *WorkflowsArgs, opts ...pulumi.ResourceOption) (*Workflows, error) {
	if args == nil || args.Namespace == "" || args.Version == "" || args.WorkflowNamespace == "" {
		return nil, fmt.Errorf("argo: namespace, workflow namespace and version are required")
	}
	if args.SignIn.ClientID == "" || args.SignIn.ClientSecret == nil {
		return nil, fmt.Errorf("argo: argo-server's sign-in needs the OAuth client's id and secret")
	}
	if err := args.Egress.check(); err != nil {
		return nil, err
	}
	if args.WorkflowNamespace == args.Namespace {
		return nil, fmt.Errorf("argo: the workflow namespace must not be Argo's own (%s): workflows would reach its accounts and Secrets", args.Namespace)
	}
	seen := map[string]bool{args.Namespace: true, args.WorkflowNamespace: true}
	for _, wi := range args.Identities {
		if wi.Namespace == "" || seen[wi.Namespace] {
			return nil, fmt.Errorf("argo: workflow identity %s needs a namespace of its own, not %q", wi.KSA, wi.Namespace)
		}
		seen[wi.Namespace] = true
	}
	w := &Workflows{}
	if err := ctx.RegisterComponentResource(typeToken, name, w, opts...); err != nil {
		return nil, err
	}
	b := &builder{ctx: ctx, name: name, args: args, images: args.images(), parent: w}

	steps := []func() error{
		b.namespace, b.crds, b.serviceAccounts, b.rbac, b.priorityClass, b.admission, b.configMaps,
		b.databaseSecrets, b.databaseBootstrap, b.controller, b.serverGrants, b.signIn, b.server,
		b.edge, b.networkPolicies, b.monitoring,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	w.Namespace = b.ns.Metadata.Name().Elem()
	w.WorkflowNamespace = b.wfNS.Metadata.Name().Elem()
	ids := pulumi.StringMap{}
	for i, wi := range args.Identities {
		ids[wi.KSA] = b.idNS[i].Metadata.Name().Elem()
	}
	w.IdentityNamespaces = ids.ToStringMapOutput()
	return w, ctx.RegisterResourceOutputs(w, pulumi.Map{
		"namespace":          w.Namespace,
		"workflowNamespace":  w.WorkflowNamespace,
		"identityNamespaces": w.IdentityNamespaces,
	})
}
