package argo

import (
	"fmt"

	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Rule is one RBAC policy rule.
type Rule struct {
	Groups, Resources, Verbs, Names []string
}

var (
	core = []string{""}
	argo = []string{"argoproj.io"}
)

// Argo's install, split by trust: the controller and the server live in
// Argo's home namespace and act on workflows in the workflow namespaces
// (the workflow namespace and one per workflow identity). Each gets one Role
// in each namespace, so nothing a workflow can name (its namespace's
// accounts and Secrets) reaches what the platform runs on; their only
// cluster-wide rights are reads (ControllerClusterRules, ServerClusterRules).

// ControllerHomeRules are what the workflow-controller needs in its own
// namespace: its ConfigMap (and the fallback artifact-repositories
// ConfigMap), its database Secret, events, and the memoization caches.
var ControllerHomeRules = []Rule{
	// create and update: Argo v4 keeps every memoization cache ConfigMap in
	// the controller's own namespace, whatever the workflow's (e2e:
	// memoization on the real controller). It writes only ConfigMaps it
	// created or that carry its cache label, so a workflow cannot name the
	// controller's own ConfigMap as its cache.
	{Groups: core, Resources: []string{"configmaps"}, Verbs: []string{"get", "watch", "list", "create", "update"}},
	// Only its own database Secret: the bootstrap admin's Secret beside it
	// stays out of reach.
	{Groups: core, Resources: []string{"secrets"}, Verbs: []string{"get"}, Names: []string{databaseSecretName(controllerName)}},
	{Groups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"create", "get", "update"}},
	{Groups: core, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
}

// ControllerWorkloadRules are what the workflow-controller needs in each
// workflow namespace (Argo's namespace-install Role). Seed lesson: its
// workflows failed because pods patch/update was missing; today only the
// controller needs it. No Secrets: artifacts go to GCS as the pods'
// Workload Identity.
var ControllerWorkloadRules = []Rule{
	{Groups: core, Resources: []string{"pods", "pods/exec"}, Verbs: []string{"create", "get", "list", "watch", "update", "patch", "delete"}},
	// create and update beyond Argo's own Role: the ConfigMap a large step
	// template is offloaded to (over 128 KiB) is written here; without it
	// such workflows fail (e2e: large templates on the real controller).
	{Groups: core, Resources: []string{"configmaps"}, Verbs: []string{"get", "watch", "list", "create", "update"}},
	{Groups: core, Resources: []string{"persistentvolumeclaims", "persistentvolumeclaims/finalizers"}, Verbs: []string{"create", "update", "delete", "get"}},
	{Groups: argo, Resources: []string{"workflows", "workflows/finalizers", "workflowtasksets", "workflowtasksets/finalizers", "workflowartifactgctasks"}, Verbs: []string{"get", "list", "watch", "update", "patch", "delete", "create"}},
	{Groups: argo, Resources: []string{"workflowtemplates", "workflowtemplates/finalizers"}, Verbs: []string{"get", "list", "watch"}},
	{Groups: argo, Resources: []string{"workflowtaskresults"}, Verbs: []string{"list", "watch", "deletecollection"}},
	{Groups: core, Resources: []string{"serviceaccounts"}, Verbs: []string{"get", "list"}},
	{Groups: argo, Resources: []string{"cronworkflows", "cronworkflows/finalizers"}, Verbs: []string{"get", "list", "watch", "update", "patch", "delete"}},
	{Groups: core, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
	{Groups: []string{"policy"}, Resources: []string{"poddisruptionbudgets"}, Verbs: []string{"create", "get", "delete"}},
}

// ServerHomeRules are what argo-server's own account needs in its own
// namespace (--auth-mode=sso: every person's request acts as the account
// their sign-in picks, signin.go): its ConfigMap; its own database Secret,
// the OAuth client's, its session key's and the tokens of the sign-in
// accounts at home (the viewers' and the editors')
// (by name: never the bootstrap admin's); and creating Secrets, because it
// makes its session key Secret ("sso") at its first start and RBAC cannot
// limit a create to one name. What else that reaches: a Secret it makes
// it cannot read back unless it bears one of those names, all taken.
func ServerHomeRules(databaseSecret string, homeTokens []string) []Rule {
	return []Rule{
		{Groups: core, Resources: []string{"configmaps"}, Verbs: []string{"get", "watch", "list"}},
		{Groups: core, Resources: []string{"secrets"}, Verbs: []string{"get"}, Names: append([]string{databaseSecret, ssoClientSecret, ssoKeySecret}, homeTokens...)},
		{Groups: core, Resources: []string{"secrets"}, Verbs: []string{"create"}},
	}
}

// ServerWorkloadRules are what argo-server's own account needs in each
// workflow namespace: the tokens of the runners' and editors' accounts, by
// name, to act as them. Nothing else: what a person does there, they do as
// the account of their sign-in.
var ServerWorkloadRules = []Rule{
	{Groups: core, Resources: []string{"secrets"}, Verbs: []string{"get"}, Names: []string{tokenSecret(RunnerKSA), tokenSecret(EditorKSA)}},
}

// ExecutorRules are all Argo's executor needs since 3.4: report a step's
// results. They belong to each workflow namespace's ExecutorKSA, whose
// token Argo mounts into the init and wait containers only
// (workflowDefaults' executor account); the step's own code runs with its
// workflow account's token, which is bound to no Role. The controller
// copies a WorkflowTaskResult into the node it names without asking who
// wrote it, but only for a workflow of the result's own namespace: a step
// that got hold of its wait container's token (the wait container reads
// an output's path the step chooses) can report only for workflows that
// run as its own account, in its own namespace.
var ExecutorRules = []Rule{
	{Groups: argo, Resources: []string{"workflowtaskresults"}, Verbs: []string{"create", "patch"}},
}

func policyRules(rules []Rule) rbacv1.PolicyRuleArray {
	out := rbacv1.PolicyRuleArray{}
	for _, r := range rules {
		pr := rbacv1.PolicyRuleArgs{
			ApiGroups: pulumi.ToStringArray(r.Groups),
			Resources: pulumi.ToStringArray(r.Resources),
			Verbs:     pulumi.ToStringArray(r.Verbs),
		}
		if len(r.Names) > 0 {
			pr.ResourceNames = pulumi.ToStringArray(r.Names)
		}
		out = append(out, pr)
	}
	return out
}

func roleRef(kind string, name pulumi.StringInput) rbacv1.RoleRefArgs {
	return rbacv1.RoleRefArgs{ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String(kind), Name: name}
}

// accountSubject is ServiceAccounts ksas of namespace ns.
func accountSubject(ns string, ksas ...string) rbacv1.SubjectArray {
	var out rbacv1.SubjectArray
	for _, ksa := range ksas {
		out = append(out, rbacv1.SubjectArgs{
			Kind: pulumi.String("ServiceAccount"), Name: pulumi.String(ksa), Namespace: pulumi.String(ns),
		})
	}
	return out
}

// grant is one Role and its binding: rules for the accounts ksas (living
// in accountNS) in namespace ns.
type grant struct {
	role, ns, accountNS string
	ksas                []string
	rules               []Rule
	// suffix is the namespace's space suffix (space.suffix).
	suffix string
}

func (b *builder) grants() []grant {
	home := b.args.Namespace
	ctrl, srv := []string{b.args.Controller.KSA}, []string{b.args.Server.KSA}
	out := []grant{
		{"argo-controller", home, home, ctrl, ControllerHomeRules, ""},
		{"argo-server", home, home, srv, ServerHomeRules(databaseSecretName(serverName), b.homeTokens()), ""},
	}
	for _, sp := range b.spaces() {
		out = append(out,
			grant{"argo-controller", sp.ns, home, ctrl, ControllerWorkloadRules, sp.suffix},
			grant{"argo-server", sp.ns, home, srv, ServerWorkloadRules, sp.suffix},
			// Only the executor reports results; the workflow accounts
			// (the step's own token) hold no Kubernetes right at all.
			grant{ExecutorKSA, sp.ns, sp.ns, []string{ExecutorKSA}, ExecutorRules, sp.suffix},
		)
	}
	return out
}

func (b *builder) rbac() error {
	for _, g := range b.grants() {
		// The home namespace's Roles keep their names; the workflow
		// namespace's are the role's "workloads" half.
		suffix := g.role
		if g.ns != b.args.Namespace {
			suffix += "-workloads" + g.suffix
		}
		role, err := rbacv1.NewRole(b.ctx, b.child("role-"+suffix), &rbacv1.RoleArgs{
			Metadata: b.metaIn(g.ns, g.role, dataPlaneApp),
			Rules:    policyRules(g.rules),
		}, b.inNamespace()...)
		if err != nil {
			return fmt.Errorf("argo: role %s/%s: %w", g.ns, g.role, err)
		}
		if _, err := rbacv1.NewRoleBinding(b.ctx, b.child("rolebinding-"+suffix), &rbacv1.RoleBindingArgs{
			Metadata: b.metaIn(g.ns, g.role, dataPlaneApp),
			RoleRef:  roleRef("Role", role.Metadata.Name().Elem()),
			Subjects: accountSubject(g.accountNS, g.ksas...),
		}, b.inNamespace()...); err != nil {
			return fmt.Errorf("argo: role binding %s/%s: %w", g.ns, g.role, err)
		}
	}
	return b.clusterReads()
}

// ControllerClusterRules are the controller's only cluster-wide rights:
// reads. Argo's controller watches one namespace or every namespace, never
// a list (argo-workflows #16980), so with a namespace per workflow identity
// its informers list and watch these kinds in all namespaces; it writes
// only where ControllerWorkloadRules are bound. A Workflow made in another
// namespace is seen, and its pods are refused. What else this reaches: the
// pods and ConfigMaps of every namespace, to read (no Secrets). Namespaces:
// per-namespace parallelism (argo.namespaceParallelism) reads them; without
// them the real controller warns that it "will not work" (the e2e's
// controller log must carry no such warning).
var ControllerClusterRules = []Rule{
	{Groups: core, Resources: []string{"namespaces", "pods", "configmaps", "serviceaccounts"}, Verbs: []string{"get", "list", "watch"}},
	{Groups: argo, Resources: []string{"workflows", "workflowtemplates", "cronworkflows", "workflowtaskresults", "workflowtasksets", "workflowartifactgctasks", "clusterworkflowtemplates"}, Verbs: []string{"get", "list", "watch"}},
}

// ServerClusterRules are argo-server's only cluster-wide rights: reading
// what its informers list across namespaces (it waits for them before it
// serves: workflows for its list, WorkflowTemplates and
// ClusterWorkflowTemplates for validating what is submitted). It changes
// things only where ServerWorkloadRules are bound. What else this reaches:
// the Workflows and WorkflowTemplates of any namespace, to read.
var ServerClusterRules = []Rule{
	{Groups: argo, Resources: []string{"workflows", "workflowtemplates", "clusterworkflowtemplates"}, Verbs: []string{"get", "list", "watch"}},
	// The sign-in accounts' rules are read from an informer over every
	// namespace.
	{Groups: core, Resources: []string{"serviceaccounts"}, Verbs: []string{"get", "list", "watch"}},
}

// clusterReads binds ControllerClusterRules to the controller and
// ServerClusterRules to the server: ClusterRoles and bindings named with
// Argo's home namespace (cluster-wide names).
func (b *builder) clusterReads() error {
	home := b.args.Namespace
	for _, c := range []struct {
		resource, name, component, ksa string
		rules                          []Rule
	}{
		{"controller", "argo-controller-" + home, controllerName, b.args.Controller.KSA, ControllerClusterRules},
		{"server", "argo-server-" + home, serverName, b.args.Server.KSA, ServerClusterRules},
	} {
		role, err := rbacv1.NewClusterRole(b.ctx, b.child("clusterrole-"+c.resource), &rbacv1.ClusterRoleArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(c.name), Labels: b.labels(c.component)},
			Rules:    policyRules(c.rules),
		}, b.opts()...)
		if err != nil {
			return fmt.Errorf("argo: cluster role %s: %w", c.name, err)
		}
		if _, err := rbacv1.NewClusterRoleBinding(b.ctx, b.child("clusterrolebinding-"+c.resource), &rbacv1.ClusterRoleBindingArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(c.name), Labels: b.labels(c.component)},
			RoleRef:  roleRef("ClusterRole", role.Metadata.Name().Elem()),
			Subjects: accountSubject(home, c.ksa),
		}, b.opts()...); err != nil {
			return fmt.Errorf("argo: cluster role binding %s: %w", c.name, err)
		}
	}
	return nil
}

// homeTokens are the token Secrets of the sign-in accounts at home.
func (b *builder) homeTokens() []string {
	var out []string
	for _, acc := range b.ssoAccounts() {
		if acc.ns == b.args.Namespace {
			out = append(out, tokenSecret(acc.ksa))
		}
	}
	return out
}
