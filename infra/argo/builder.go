package argo

import (
	"fmt"

	apiextv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Fixed object names: Argo's own defaults where it has them, so its docs and
// CLI work unchanged.
const (
	controllerName      = "workflow-controller"
	serverName          = "argo-server"
	controllerConfigMap = "workflow-controller-configmap"
	// The server reads its own copy: the same settings, but the database
	// user of its own service account (Cloud SQL refuses a mismatch).
	serverConfigMap = "argo-server-configmap"
	priorityClass   = "workflow-controller"
	ingressName     = "argo-server"
	backendConfig   = "argo-server"
	frontendConfig  = "argo-server"
	certificateName = "argo-server"
	gsaAnnotation   = "iam.gke.io/gcp-service-account"
	// workflowComponent labels the workflow account.
	workflowComponent = "workflow"
	// executorComponent labels the executor's account and its token.
	executorComponent = "executor"
)

// ExecutorKSA is the Kubernetes ServiceAccount of Argo's init and wait
// containers in the workflow namespace (spec.executor.serviceAccountName):
// it alone may report a step's results. It has no Google identity.
const ExecutorKSA = "argo-executor"

// ExecutorTokenSecret is the Secret holding ExecutorKSA's token, by the name
// Argo's controller looks for (<account>.service-account-token) and mounts
// into the init and wait containers. The admission policy lets only those
// containers mount it.
const ExecutorTokenSecret = ExecutorKSA + ".service-account-token"

// Ports.
const (
	serverPort      = 2746 // argo-server's UI and API
	metricsPort     = 9090 // controller's Prometheus metrics
	healthzPort     = 6060 // controller's /healthz
	postgresPort    = 5432 // the Auth Proxy's listener on 127.0.0.1
	proxyHealthPort = 9801 // the proxy's health checks, moved off 9090
)

// builder registers the component's children with shared options.
type builder struct {
	ctx    *pulumi.Context
	name   string
	args   *WorkflowsArgs
	images Images
	parent pulumi.Resource

	ns, wfNS *corev1.Namespace
	// idNS are the workflow identities' namespaces, in Identities' order.
	idNS         []*corev1.Namespace
	crdResources []pulumi.Resource
	accounts     []pulumi.Resource
	adminSecret  pulumi.Resource
	bootstrap    pulumi.Resource
	// controllerDeployment and serverGrant order the server after the
	// controller's migration and the grants on its tables.
	controllerDeployment, serverGrant pulumi.Resource
	// guard is the workflow namespace's admission policy binding: the
	// controller starts only once it is in force. guardPolicy is the policy
	// itself: a change to the pods Argo creates waits for its update.
	guard, guardPolicy pulumi.Resource
}

// opts are every child's options: parented to the component, deleted with the
// cluster, plus extra. Objects that only live inside the cluster need no
// delete of their own when the cluster goes: `pulumi destroy` skips them.
func (b *builder) opts(extra ...pulumi.ResourceOption) []pulumi.ResourceOption {
	o := []pulumi.ResourceOption{pulumi.Parent(b.parent)}
	if b.args.Cluster != nil {
		o = append(o, pulumi.DeletedWith(b.args.Cluster))
	}
	return append(o, extra...)
}

// DeleteTimeout bounds how long `pulumi destroy` waits for GKE to release
// what an object holds outside the cluster. GKE's ingress and NEG
// controllers take minutes to remove a load balancer and its network
// endpoint groups; the provider's default of 10 minutes is too tight.
const DeleteTimeout = "30m"

// ownDeletion are the options of the objects that hold Google Cloud resources
// outside the cluster (the namespace, the Service with its NEGs, the Ingress
// with its load balancer). They are NOT deleted with the cluster: Pulumi
// deletes each and waits until GKE's finalizers let it go, so the load
// balancer and the NEGs are gone before the static address, the subnet and
// the cluster are deleted (they depend on those, so they go first).
func (b *builder) ownDeletion(extra ...pulumi.ResourceOption) []pulumi.ResourceOption {
	o := []pulumi.ResourceOption{
		pulumi.Parent(b.parent),
		pulumi.Timeouts(&pulumi.CustomTimeouts{Delete: DeleteTimeout}),
	}
	return append(o, extra...)
}

// inNamespace adds a dependency on the namespaces for namespaced objects.
func (b *builder) inNamespace(extra ...pulumi.ResourceOption) []pulumi.ResourceOption {
	deps := []pulumi.Resource{b.ns, b.wfNS}
	for _, ns := range b.idNS {
		deps = append(deps, ns)
	}
	return b.opts(append([]pulumi.ResourceOption{pulumi.DependsOn(deps)}, extra...)...)
}

// A space is one namespace workflows run in and the one account they run
// as there: WorkflowNamespace and the workflow account, then each workflow
// identity's namespace and account.
type space struct {
	ns string
	id Identity
	// suffix tells its objects' resource names apart: none for
	// WorkflowNamespace's (they keep the names they always had), the
	// identity's name for an identity's.
	suffix string
	// runners may run workflows there (SignIn.Runners, Identity.Runners).
	runners []string
}

func (b *builder) spaces() []space {
	out := []space{{ns: b.args.WorkflowNamespace, id: b.args.Workflow, runners: b.args.SignIn.Runners}}
	for _, wi := range b.args.Identities {
		out = append(out, space{ns: wi.Namespace, id: wi, suffix: "-" + wi.KSA, runners: wi.Runners})
	}
	return out
}

// spaceNames are the spaces' namespaces.
func (b *builder) spaceNames() []string {
	var out []string
	for _, sp := range b.spaces() {
		out = append(out, sp.ns)
	}
	return out
}

// child names a child resource after the component.
func (b *builder) child(suffix string) string { return b.name + "-" + suffix }

func (b *builder) labels(component string) pulumi.StringMap {
	return pulumi.StringMap{
		"app.kubernetes.io/name":       pulumi.String(component),
		"app.kubernetes.io/part-of":    pulumi.String(dataPlaneApp),
		"app.kubernetes.io/version":    pulumi.String(b.args.Version),
		"app.kubernetes.io/managed-by": pulumi.String("pulumi"),
		"env":                          pulumi.String(b.args.Environment),
	}
}

func (b *builder) selector(component string) pulumi.StringMap {
	return pulumi.StringMap{"app.kubernetes.io/name": pulumi.String(component)}
}

// meta names an object in Argo's home namespace.
func (b *builder) meta(name, component string) *metav1.ObjectMetaArgs {
	return b.metaIn(b.args.Namespace, name, component)
}

// metaIn names an object in namespace ns.
func (b *builder) metaIn(ns, name, component string) *metav1.ObjectMetaArgs {
	return &metav1.ObjectMetaArgs{
		Name:      pulumi.String(name),
		Namespace: pulumi.String(ns),
		Labels:    b.labels(component),
	}
}

// Namespace labels saying which of the two a namespace is, for people and
// their kubectl selectors. Nothing here selects by them: the admission
// policy's binding selects the workflow namespace by the name label
// Kubernetes sets itself.
const (
	roleLabel    = "argo-platform/role"
	roleHome     = "argo"
	roleWorkflow = "workflows"
)

func (b *builder) namespace() error {
	type nsArgs struct {
		resource, name, role string
		out                  **corev1.Namespace
	}
	all := []nsArgs{
		{"namespace", b.args.Namespace, roleHome, &b.ns},
		{"namespace-workflows", b.args.WorkflowNamespace, roleWorkflow, &b.wfNS},
	}
	b.idNS = make([]*corev1.Namespace, len(b.args.Identities))
	for i, sp := range b.spaces()[1:] {
		all = append(all, nsArgs{"namespace-workflows" + sp.suffix, sp.ns, roleWorkflow, &b.idNS[i]})
	}
	for _, n := range all {
		labels := b.labels(dataPlaneApp)
		labels[roleLabel] = pulumi.String(n.role)
		ns, err := corev1.NewNamespace(b.ctx, b.child(n.resource), &corev1.NamespaceArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(n.name), Labels: labels},
			// Deleting a namespace waits for everything in it, including
			// GKE's network endpoint group objects, whose finalizer is
			// released only once the NEGs are deleted in Compute Engine.
		}, b.ownDeletion(pulumi.RetainOnDelete(b.args.Retain))...)
		if err != nil {
			return fmt.Errorf("argo: namespace %s: %w", n.name, err)
		}
		*n.out = ns
	}
	return nil
}

// serviceAccounts creates one KSA per component, each annotated with the GSA
// it acts as. Seed lesson: explicit accounts, never `default`.
func (b *builder) serviceAccounts() error {
	type account struct {
		component string
		id        Identity
	}
	all := []account{
		{controllerName, b.args.Controller},
		{serverName, b.args.Server},
	}
	for _, sp := range b.spaces() {
		all = append(all, account{workflowComponent, sp.id})
	}
	for _, id := range all {
		meta := b.meta(id.id.KSA, id.component)
		if id.component == workflowComponent {
			// Seed lesson kept, now with a boundary: workflows run as
			// their own account, each in its own namespace.
			ns := b.args.WorkflowNamespace
			if id.id.Namespace != "" {
				ns = id.id.Namespace
			}
			meta = b.metaIn(ns, id.id.KSA, id.component)
		}
		meta.Annotations = pulumi.StringMap{gsaAnnotation: id.id.GSA}
		sa, err := corev1.NewServiceAccount(b.ctx, b.child("sa-"+id.id.KSA), &corev1.ServiceAccountArgs{
			Metadata: meta,
		}, b.inNamespace()...)
		if err != nil {
			return fmt.Errorf("argo: service account %s: %w", id.id.KSA, err)
		}
		b.accounts = append(b.accounts, sa)
	}
	for _, sp := range b.spaces() {
		if err := b.executorAccount(sp); err != nil {
			return err
		}
	}
	return nil
}

// executorAccount creates ExecutorKSA and its token Secret in space sp,
// which Kubernetes fills in (a legacy token: Argo mounts a Secret, not a
// projected token, into the executor's containers). One per namespace: the
// token reports results for its namespace's workflows only.
func (b *builder) executorAccount(sp space) error {
	return b.tokenAccount(sp.ns, ExecutorKSA, executorComponent, sp.suffix, nil)
}

// tokenSecret is Argo's name for account ksa's token Secret, the one it
// looks for (ExecutorTokenSecret for the executor).
func tokenSecret(ksa string) string { return ksa + ".service-account-token" }

// tokenAccount creates ServiceAccount ns/ksa (with annotations) and its
// legacy token Secret, tokenSecret(ksa), which Kubernetes fills in;
// suffix tells their resource names apart.
func (b *builder) tokenAccount(ns, ksa, component, suffix string, annotations pulumi.StringMap) error {
	meta := b.metaIn(ns, ksa, component)
	meta.Annotations = annotations
	sa, err := corev1.NewServiceAccount(b.ctx, b.child("sa-"+ksa+suffix), &corev1.ServiceAccountArgs{Metadata: meta}, b.inNamespace()...)
	if err != nil {
		return fmt.Errorf("argo: account %s/%s: %w", ns, ksa, err)
	}
	tmeta := b.metaIn(ns, tokenSecret(ksa), component)
	tmeta.Annotations = pulumi.StringMap{"kubernetes.io/service-account.name": pulumi.String(ksa)}
	token, err := corev1.NewSecret(b.ctx, b.child("secret-"+tokenSecret(ksa)+suffix), &corev1.SecretArgs{
		Metadata: tmeta,
		Type:     pulumi.String("kubernetes.io/service-account-token"),
		// Kubernetes deletes a token Secret whose account does not exist.
	}, b.inNamespace(pulumi.DependsOn([]pulumi.Resource{sa}))...)
	if err != nil {
		return fmt.Errorf("argo: token of %s/%s: %w", ns, ksa, err)
	}
	b.accounts = append(b.accounts, sa, token)
	return nil
}

// crd is one of Argo's minimal CRDs.
type crd struct {
	plural, kind string
	shortNames   []string
	cluster      bool
	status       bool // has a status subresource
}

// minimalCRDs are the eight CRDs of Argo's minimal set: schemaless spec and
// status (preserve unknown fields), which the controller validates itself.
var minimalCRDs = []crd{
	{plural: "workflows", kind: "Workflow", shortNames: []string{"wf"}},
	{plural: "workflowtemplates", kind: "WorkflowTemplate", shortNames: []string{"wftmpl"}},
	{plural: "cronworkflows", kind: "CronWorkflow", shortNames: []string{"cwf", "cronwf"}},
	{plural: "clusterworkflowtemplates", kind: "ClusterWorkflowTemplate", shortNames: []string{"clusterwftmpl", "cwft"}, cluster: true},
	{plural: "workfloweventbindings", kind: "WorkflowEventBinding", shortNames: []string{"wfeb"}},
	{plural: "workflowtasksets", kind: "WorkflowTaskSet", shortNames: []string{"wfts"}, status: true},
	{plural: "workflowtaskresults", kind: "WorkflowTaskResult"},
	{plural: "workflowartifactgctasks", kind: "WorkflowArtifactGCTask", shortNames: []string{"wfat"}, status: true},
}

func (b *builder) crds() error {
	open := apiextv1.JSONSchemaPropsArgs{
		Type:                                 pulumi.String("object"),
		X_kubernetes_preserve_unknown_fields: pulumi.Bool(true),
		X_kubernetes_map_type:                pulumi.String("atomic"),
	}
	for _, c := range minimalCRDs {
		scope := "Namespaced"
		if c.cluster {
			scope = "Cluster"
		}
		props := apiextv1.JSONSchemaPropsMap{
			"apiVersion": apiextv1.JSONSchemaPropsArgs{Type: pulumi.String("string")},
			"kind":       apiextv1.JSONSchemaPropsArgs{Type: pulumi.String("string")},
			"metadata":   apiextv1.JSONSchemaPropsArgs{Type: pulumi.String("object")},
			"spec":       open,
			"status":     open,
		}
		required := pulumi.StringArray{pulumi.String("metadata"), pulumi.String("spec")}
		if c.plural == "workflowtaskresults" {
			// Task results carry their fields at the top level, no spec.
			props = apiextv1.JSONSchemaPropsMap{
				"apiVersion": apiextv1.JSONSchemaPropsArgs{Type: pulumi.String("string")},
				"kind":       apiextv1.JSONSchemaPropsArgs{Type: pulumi.String("string")},
				"metadata":   apiextv1.JSONSchemaPropsArgs{Type: pulumi.String("object")},
				"message":    apiextv1.JSONSchemaPropsArgs{Type: pulumi.String("string")},
				"phase":      apiextv1.JSONSchemaPropsArgs{Type: pulumi.String("string")},
				"progress":   apiextv1.JSONSchemaPropsArgs{Type: pulumi.String("string")},
				"outputs":    open,
			}
			required = pulumi.StringArray{pulumi.String("metadata")}
		}
		version := apiextv1.CustomResourceDefinitionVersionArgs{
			Name:    pulumi.String("v1alpha1"),
			Served:  pulumi.Bool(true),
			Storage: pulumi.Bool(true),
			Schema: apiextv1.CustomResourceValidationArgs{
				OpenAPIV3Schema: apiextv1.JSONSchemaPropsArgs{
					Type:       pulumi.String("object"),
					Properties: props,
					Required:   required,
				},
			},
		}
		if c.status {
			version.Subresources = apiextv1.CustomResourceSubresourcesArgs{Status: pulumi.Map{}}
		}
		if c.plural == "workflows" {
			version.AdditionalPrinterColumns = apiextv1.CustomResourceColumnDefinitionArray{
				apiextv1.CustomResourceColumnDefinitionArgs{Name: pulumi.String("Status"), Type: pulumi.String("string"), JsonPath: pulumi.String(".status.phase")},
				apiextv1.CustomResourceColumnDefinitionArgs{Name: pulumi.String("Age"), Type: pulumi.String("date"), Format: pulumi.String("date-time"), JsonPath: pulumi.String(".status.startedAt")},
				apiextv1.CustomResourceColumnDefinitionArgs{Name: pulumi.String("Message"), Type: pulumi.String("string"), JsonPath: pulumi.String(".status.message")},
			}
		}
		names := apiextv1.CustomResourceDefinitionNamesArgs{
			Kind:     pulumi.String(c.kind),
			ListKind: pulumi.String(c.kind + "List"),
			Plural:   pulumi.String(c.plural),
			Singular: pulumi.String(c.plural[:len(c.plural)-1]),
		}
		if len(c.shortNames) > 0 {
			// An empty list is dropped by the API server and would show as a
			// diff on every run.
			names.ShortNames = pulumi.ToStringArray(c.shortNames)
		}
		res, err := apiextv1.NewCustomResourceDefinition(b.ctx, b.child("crd-"+c.plural), &apiextv1.CustomResourceDefinitionArgs{
			Metadata: &metav1.ObjectMetaArgs{
				Name:   pulumi.String(c.plural + ".argoproj.io"),
				Labels: b.labels(dataPlaneApp),
			},
			Spec: apiextv1.CustomResourceDefinitionSpecArgs{
				Group:    pulumi.String("argoproj.io"),
				Names:    names,
				Scope:    pulumi.String(scope),
				Versions: apiextv1.CustomResourceDefinitionVersionArray{version},
			},
			// Deleting a CRD deletes every object of its kind.
		}, b.opts(pulumi.RetainOnDelete(b.args.Retain))...)
		if err != nil {
			return fmt.Errorf("argo: crd %s: %w", c.plural, err)
		}
		b.crdResources = append(b.crdResources, res)
	}
	return nil
}
