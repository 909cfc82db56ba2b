package argo

import (
	"fmt"
	"strconv"
	"strings"

	admissionv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/admissionregistration/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The workflow namespaces' admission policy: a ValidatingAdmissionPolicy,
// evaluated by the API server itself (no webhook to run or to fail open).
// It holds for every pod created in a workflow namespace, whoever creates
// it (the controller for a workflow's steps, or anyone with pod rights):
// RBAC decides who may create pods, this policy decides what a pod may use.
// A workflow names its service account and volumes freely, so this is the
// boundary that keeps a workflow from running as another account (each
// namespace admits one: its space's) or reading another Secret.

// AdmissionPolicyName is the policy's (cluster-wide) name for the workflow
// namespace ns (the workflow namespace; the policy covers the identities'
// namespaces too).
func AdmissionPolicyName(ns string) string { return "argo-workflow-pods-" + ns }

// celList writes names as a CEL list literal.
func celList(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = strconv.Quote(n)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// podSecretChecks are the CEL expressions that each pass only when every
// Secret the pod names (as a volume, a projected source, a CSI driver's
// secret, or an env or envFrom of any container) is in variables.secrets.
func podSecretChecks() []string {
	in := func(expr string) string { return expr + " in variables.secrets" }
	containers := func(field string) string {
		return fmt.Sprintf(`!has(object.spec.%[1]s) || object.spec.%[1]s.all(c, `+
			`(!has(c.env) || c.env.all(e, !has(e.valueFrom) || !has(e.valueFrom.secretKeyRef) || %[2]s)) && `+
			`(!has(c.envFrom) || c.envFrom.all(f, !has(f.secretRef) || %[3]s)))`,
			field, in("e.valueFrom.secretKeyRef.name"), in("f.secretRef.name"))
	}
	return []string{
		`!has(object.spec.volumes) || object.spec.volumes.all(v, ` +
			`(!has(v.secret) || (has(v.secret.secretName) && (` + in("v.secret.secretName") + ` || v.secret.secretName == variables.executorSecret))) && ` +
			`(!has(v.projected) || !has(v.projected.sources) || v.projected.sources.all(s, !has(s.secret) || ` + in("s.secret.name") + `)) && ` +
			`(!has(v.csi) || !has(v.csi.nodePublishSecretRef) || ` + in("v.csi.nodePublishSecretRef.name") + `))`,
		containers("containers"),
		containers("initContainers"),
		containers("ephemeralContainers"),
	}
}

// executorTokenChecks are the CEL expressions that keep the executor's
// token (ExecutorTokenSecret) where Argo puts it: a container that mounts it
// must be Argo's own init or wait container, running the executor image's
// argoexec as Argo's controller writes its command, and reporting for its
// own pod:
// its workflow name and uid are the pod's owner's, its node id the one the
// pod's name carries (Argo names a step's pod <prefix>-<hash> and its node
// <workflow>-<hash>, or both after the workflow when the step is the
// workflow). A template's podSpecPatch can rewrite any container, so
// without these a workflow could run its own code, or argoexec reporting
// for another workflow's node, with the token. A step's own main container
// (and a resource or data template's, which Argo would give the token) is
// refused it.
func executorTokenChecks() []string {
	pinned := func(name, value string) string {
		return fmt.Sprintf(`(has(c.env) && c.env.exists(e, e.name == '%[1]s') && c.env.all(e, e.name != '%[1]s' || (has(e.value) && e.value == %[2]s)))`, name, value)
	}
	// The command Argo gives them: argoexec <init|wait> and its log flags,
	// nothing else (a flag such as --server or --kubeconfig would send the
	// token elsewhere), and no args.
	executor := `(c.name in ['init', 'wait'] && c.image == variables.executorImage && ` +
		`has(c.command) && size(c.command) == 8 && c.command[0] == 'argoexec' && c.command[1] == c.name && ` +
		`c.command[2] == '--loglevel' && c.command[3] in ['debug', 'info', 'warn', 'warning', 'error'] && ` +
		`c.command[4] == '--log-format' && c.command[5] in ['text', 'json'] && ` +
		`c.command[6] == '--gloglevel' && c.command[7].matches('^[0-9]+$') && ` +
		`(!has(c.args) || size(c.args) == 0) && size(variables.owners) == 1 && ` +
		// Nothing else of the author's runs in it (hooks, probes), no
		// environment beyond Argo's own ARGO_* variables (PATH, LD_PRELOAD
		// or the API server's address would change what argoexec does),
		// the token only where Argo mounts it, read-only, and nothing
		// mounted outside Argo's own folders (over argoexec's binary).
		`!has(c.lifecycle) && !has(c.livenessProbe) && !has(c.readinessProbe) && !has(c.startupProbe) && ` +
		`!has(c.envFrom) && c.env.all(e, e.name.startsWith('ARGO_')) && ` +
		`c.volumeMounts.all(m, m.name in variables.tokenVolumes ? ` +
		`(m.mountPath == '/var/run/secrets/kubernetes.io/serviceaccount' && has(m.readOnly) && m.readOnly && (!has(m.subPath) || m.subPath == '')) : ` +
		`(m.mountPath in ['/var/run/argo', '/tmp', '/tmp/argo/outputs', '/kube/config'] || m.mountPath.startsWith('/argo/') || m.mountPath.startsWith('/mainctrfs/'))) && ` +
		pinned("ARGO_WORKFLOW_NAME", "variables.owners[0].name") + ` && ` +
		pinned("ARGO_WORKFLOW_UID", "variables.owners[0].uid") + ` && ` +
		pinned("ARGO_NODE_ID", "variables.nodeID") + `)`
	containers := func(field string) string {
		return fmt.Sprintf(`!has(object.spec.%s) || object.spec.%[1]s.all(c, `+
			`!has(c.volumeMounts) || !c.volumeMounts.exists(m, m.name in variables.tokenVolumes) || %s)`, field, executor)
	}
	return []string{containers("containers"), containers("initContainers"), containers("ephemeralContainers")}
}

// hostChecks refuse what reaches another container's files, and with them
// the executor's token: a shared process namespace (/proc/<pid>/root), the
// node's process namespace, and the node's disk.
var hostChecks = []string{
	`!has(object.spec.shareProcessNamespace) || !object.spec.shareProcessNamespace`,
	`!has(object.spec.hostPID) || !object.spec.hostPID`,
	`!has(object.spec.volumes) || object.spec.volumes.all(v, !has(v.hostPath))`,
}

// celMap writes m as a CEL map literal, its keys in order.
func celMap(keys []string, m map[string]string) string {
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = strconv.Quote(k) + ": " + strconv.Quote(m[k])
	}
	return "{" + strings.Join(pairs, ", ") + "}"
}

// admission installs the workflow namespaces' pod policy and its binding.
func (b *builder) admission() error {
	a := b.args
	// Each workflow namespace's one account: the default workflow account
	// in the workflow namespace, an identity's in its own.
	spaces := b.spaceNames()
	ns := strings.Join(spaces, ", ")
	accounts := map[string]string{}
	for _, sp := range b.spaces() {
		accounts[sp.ns] = sp.id.KSA
	}
	allowedSecrets := "none"
	if len(a.WorkflowSecrets) > 0 {
		allowedSecrets = strings.Join(a.WorkflowSecrets, ", ")
	}
	validations := admissionv1.ValidationArray{admissionv1.ValidationArgs{
		Expression: pulumi.String("has(object.spec.serviceAccountName) && object.spec.serviceAccountName == variables.accounts[request.namespace]"),
		MessageExpression: pulumi.String(
			`'service account ' + (has(object.spec.serviceAccountName) ? object.spec.serviceAccountName : 'default') + ' may not run in namespace ' + request.namespace + '; allowed: ' + variables.accounts[request.namespace] + ' (each workflow identity runs in its own namespace)'`),
		Reason: pulumi.String("Forbidden"),
	}}
	for _, expr := range podSecretChecks() {
		validations = append(validations, admissionv1.ValidationArgs{
			Expression: pulumi.String(expr),
			Message: pulumi.String(fmt.Sprintf(
				"pods in the workflow namespaces (%s) may use only the Secrets of argo.workflowSecrets (%s), as a volume, a projected or CSI source, env or envFrom", ns, allowedSecrets)),
			Reason: pulumi.String("Forbidden"),
		})
	}
	for _, expr := range executorTokenChecks() {
		validations = append(validations, admissionv1.ValidationArgs{
			Expression: pulumi.String(expr),
			Message: pulumi.String(fmt.Sprintf(
				"in the workflow namespaces (%s) only Argo's init and wait containers (%s, reporting for their own pod) may mount %s", ns, b.images.Executor, ExecutorTokenSecret)),
			Reason: pulumi.String("Forbidden"),
		})
	}
	for _, expr := range hostChecks {
		validations = append(validations, admissionv1.ValidationArgs{
			Expression: pulumi.String(expr),
			Message: pulumi.String(fmt.Sprintf(
				"pods in the workflow namespaces (%s) may not share a process namespace, use the node's, or mount a hostPath: each reaches other containers' tokens", ns)),
			Reason: pulumi.String("Forbidden"),
		})
	}
	name := AdmissionPolicyName(a.WorkflowNamespace)
	policy, err := admissionv1.NewValidatingAdmissionPolicy(b.ctx, b.child("admission-policy"), &admissionv1.ValidatingAdmissionPolicyArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(name), Labels: b.labels(dataPlaneApp)},
		Spec: admissionv1.ValidatingAdmissionPolicySpecArgs{
			// An expression that cannot be evaluated refuses the pod.
			FailurePolicy: pulumi.String("Fail"),
			// A pod whose spec does not change (the controller labelling
			// it, the garbage collector orphaning it) is not checked
			// again: what it runs was checked when it was created.
			MatchConditions: admissionv1.MatchConditionArray{admissionv1.MatchConditionArgs{
				Name:       pulumi.String("spec-created-or-changed"),
				Expression: pulumi.String(`request.operation != 'UPDATE' || object.spec != oldObject.spec`),
			}},
			// matchConstraints is replaced as a whole under server-side
			// apply: the API server's defaults (matchPolicy, both
			// selectors, the rule's scope) are written out, so an `up` that
			// adopts the policy after a killed one applies what is stored.
			MatchConstraints: admissionv1.MatchResourcesArgs{
				MatchPolicy:       pulumi.String("Equivalent"),
				NamespaceSelector: metav1.LabelSelectorArgs{},
				ObjectSelector:    metav1.LabelSelectorArgs{},
				ResourceRules: admissionv1.NamedRuleWithOperationsArray{admissionv1.NamedRuleWithOperationsArgs{
					Scope:       pulumi.String("*"),
					ApiGroups:   pulumi.StringArray{pulumi.String("")},
					ApiVersions: pulumi.StringArray{pulumi.String("v1")},
					Operations:  pulumi.StringArray{pulumi.String("CREATE"), pulumi.String("UPDATE")},
					// Ephemeral containers are added through their own
					// subresource; they may not bring a Secret either.
					Resources: pulumi.StringArray{pulumi.String("pods"), pulumi.String("pods/ephemeralcontainers")},
				}},
			},
			Variables: admissionv1.VariableArray{
				// Namespace -> the one account pods there may run as.
				admissionv1.VariableArgs{Name: pulumi.String("accounts"), Expression: pulumi.String(celMap(spaces, accounts))},
				admissionv1.VariableArgs{Name: pulumi.String("secrets"), Expression: pulumi.String(celList(a.WorkflowSecrets))},
				admissionv1.VariableArgs{Name: pulumi.String("executorSecret"), Expression: pulumi.String(strconv.Quote(ExecutorTokenSecret))},
				admissionv1.VariableArgs{Name: pulumi.String("executorImage"), Expression: pulumi.String(strconv.Quote(b.images.Executor))},
				// The volumes holding the executor's token.
				admissionv1.VariableArgs{Name: pulumi.String("tokenVolumes"), Expression: pulumi.String(
					`has(object.spec.volumes) ? object.spec.volumes.filter(v, has(v.secret) && has(v.secret.secretName) && v.secret.secretName == variables.executorSecret).map(v, v.name) : []`)},
				// The Workflow that owns the pod (the controller sets it; no
				// template field reaches a pod's owner references).
				admissionv1.VariableArgs{Name: pulumi.String("owners"), Expression: pulumi.String(
					`has(object.metadata.ownerReferences) ? object.metadata.ownerReferences.filter(r, r.kind == 'Workflow' && r.apiVersion.startsWith('argoproj.io/')) : []`)},
				// The node the pod runs, by Argo's naming (see executorTokenChecks).
				admissionv1.VariableArgs{Name: pulumi.String("nodeID"), Expression: pulumi.String(
					`size(variables.owners) != 1 ? '' : (object.metadata.name == variables.owners[0].name ? object.metadata.name : variables.owners[0].name + '-' + object.metadata.name.split('-')[size(object.metadata.name.split('-')) - 1])`)},
			},
			Validations: validations,
		},
	}, b.opts()...)
	if err != nil {
		return fmt.Errorf("argo: admission policy: %w", err)
	}
	binding, err := admissionv1.NewValidatingAdmissionPolicyBinding(b.ctx, b.child("admission-policy-binding"), &admissionv1.ValidatingAdmissionPolicyBindingArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(name), Labels: b.labels(dataPlaneApp)},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpecArgs{
			PolicyName:        policy.Metadata.Name().Elem(),
			ValidationActions: pulumi.StringArray{pulumi.String("Deny")},
			MatchResources: admissionv1.MatchResourcesArgs{
				MatchPolicy:    pulumi.String("Equivalent"),
				ObjectSelector: metav1.LabelSelectorArgs{},
				// The workflow namespaces only, by the name Kubernetes labels
				// every namespace with.
				NamespaceSelector: metav1.LabelSelectorArgs{
					MatchExpressions: metav1.LabelSelectorRequirementArray{metav1.LabelSelectorRequirementArgs{
						Key:      pulumi.String("kubernetes.io/metadata.name"),
						Operator: pulumi.String("In"),
						Values:   pulumi.ToStringArray(spaces),
					}},
				},
			},
		},
		// The policy guards the namespaces: all exist before any pod can.
	}, b.inNamespace(pulumi.DependsOn([]pulumi.Resource{policy}))...)
	if err != nil {
		return fmt.Errorf("argo: admission policy binding: %w", err)
	}
	b.guard = binding
	b.guardPolicy = policy
	return nil
}
