package argo

import (
	"fmt"
	"strconv"
	"strings"

	admissionv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/admissionregistration/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The workflow namespace's admission policy: a ValidatingAdmissionPolicy,
// evaluated by the API server itself (no webhook to run or to fail open).
// It holds for every pod created there, whoever creates it (the controller
// for a workflow's steps, or anyone with pod rights): RBAC decides who may
// create pods, this policy decides what a pod may use. A workflow names its
// service account and volumes freely, so this is the boundary that keeps a
// workflow from running as another account or reading another Secret.

// AdmissionPolicyName is the policy's (cluster-wide) name for the workflow
// namespace ns.
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
			`(!has(v.secret) || (has(v.secret.secretName) && ` + in("v.secret.secretName") + `)) && ` +
			`(!has(v.projected) || !has(v.projected.sources) || v.projected.sources.all(s, !has(s.secret) || ` + in("s.secret.name") + `)) && ` +
			`(!has(v.csi) || !has(v.csi.nodePublishSecretRef) || ` + in("v.csi.nodePublishSecretRef.name") + `))`,
		containers("containers"),
		containers("initContainers"),
		containers("ephemeralContainers"),
	}
}

// admission installs the workflow namespace's pod policy and its binding.
func (b *builder) admission() error {
	a := b.args
	ns := a.WorkflowNamespace
	// The default workflow account and the stack's workflow identities.
	accounts := b.workflowAccounts()
	allowedSecrets := "none"
	if len(a.WorkflowSecrets) > 0 {
		allowedSecrets = strings.Join(a.WorkflowSecrets, ", ")
	}
	validations := admissionv1.ValidationArray{admissionv1.ValidationArgs{
		Expression: pulumi.String("has(object.spec.serviceAccountName) && object.spec.serviceAccountName in variables.accounts"),
		MessageExpression: pulumi.String(fmt.Sprintf(
			`'service account ' + (has(object.spec.serviceAccountName) ? object.spec.serviceAccountName : 'default') + ' may not run in namespace %s; allowed: %s'`,
			ns, strings.Join(accounts, ", "))),
		Reason: pulumi.String("Forbidden"),
	}}
	for _, expr := range podSecretChecks() {
		validations = append(validations, admissionv1.ValidationArgs{
			Expression: pulumi.String(expr),
			Message: pulumi.String(fmt.Sprintf(
				"pods in namespace %s may use only the Secrets of argo.workflowSecrets (%s), as a volume, a projected or CSI source, env or envFrom", ns, allowedSecrets)),
			Reason: pulumi.String("Forbidden"),
		})
	}
	name := AdmissionPolicyName(ns)
	policy, err := admissionv1.NewValidatingAdmissionPolicy(b.ctx, b.child("admission-policy"), &admissionv1.ValidatingAdmissionPolicyArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(name), Labels: b.labels(dataPlaneApp)},
		Spec: admissionv1.ValidatingAdmissionPolicySpecArgs{
			// An expression that cannot be evaluated refuses the pod.
			FailurePolicy: pulumi.String("Fail"),
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
				admissionv1.VariableArgs{Name: pulumi.String("accounts"), Expression: pulumi.String(celList(accounts))},
				admissionv1.VariableArgs{Name: pulumi.String("secrets"), Expression: pulumi.String(celList(a.WorkflowSecrets))},
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
				// The workflow namespace only, by the name Kubernetes labels
				// every namespace with.
				NamespaceSelector: metav1.LabelSelectorArgs{
					MatchLabels: pulumi.StringMap{"kubernetes.io/metadata.name": pulumi.String(ns)},
				},
			},
		},
		// The policy guards the namespace: both exist before any pod can.
	}, b.opts(pulumi.DependsOn([]pulumi.Resource{policy, b.wfNS}))...)
	if err != nil {
		return fmt.Errorf("argo: admission policy binding: %w", err)
	}
	b.guard = binding
	return nil
}
