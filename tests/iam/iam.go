// Package iam evaluates the IAM a stack registers, as Google Cloud would
// decide a request: the bindings the program registered under the test
// mocks (project, bucket, dataset, secret and service-account bindings, conditions
// included), each role's permissions as written down in roles.go, and the
// conditions evaluated by a CEL engine (cel-go, the language IAM
// conditions are written in).
//
// It answers the permission matrix (matrix_test.go) and stands in for GCS
// and GKE's metadata server in the e2e (Bucket): a request the registered
// IAM does not allow is refused there too.
//
// What it does not model, and so never allows or refuses for: deny
// policies, organization policies, IAM inheritance above the project,
// roles whose permissions roles.go does not list (Allows returns an error
// naming them), groups and domains as members, and any condition attribute
// beyond resource.name, resource.type, resource.service and
// api.getAttribute (a condition using another fails to evaluate, and the
// request is refused with that error).
package iam

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/infra"
	"github.com/argo-platform/argo-platform/stacks"
	"github.com/argo-platform/argo-platform/tests"
)

// Binding is one registered grant: role for member on resource, when
// condition (a CEL expression, "" for none) holds.
type Binding struct {
	// Resource is the full resource name the role is granted on:
	// projects/P, projects/_/buckets/B, projects/P/datasets/D,
	// projects/P/secrets/S, projects/P/serviceAccounts/EMAIL or
	// projects/P/iap_web.
	Resource, Role, Member, Condition string
	// Source is the registration's type and name.
	Source string
}

// Resource is what a request acts on.
type Resource struct {
	// Name is the full resource name, as IAM conditions see resource.name.
	Name string
	// Type is the resource type (resource.type), e.g.
	// storage.googleapis.com/Object.
	Type string
	// Project is the project the resource sits in, whose project-level
	// bindings apply to it ("" when it is none of the stack's).
	Project string
}

// Object is an object of bucket (in project).
func Object(project, bucket, name string) Resource {
	return Resource{Name: "projects/_/buckets/" + bucket + "/objects/" + name, Type: "storage.googleapis.com/Object", Project: project}
}

// Bucket is a bucket (in project).
func Bucket(project, bucket string) Resource {
	return Resource{Name: "projects/_/buckets/" + bucket, Type: "storage.googleapis.com/Bucket", Project: project}
}

// Project is a project.
func Project(project string) Resource {
	return Resource{Name: "projects/" + project, Type: "cloudresourcemanager.googleapis.com/Project", Project: project}
}

// Instance is a Cloud SQL instance of project.
func Instance(project, name string) Resource {
	return Resource{Name: "projects/" + project + "/instances/" + name, Type: "sqladmin.googleapis.com/Instance", Project: project}
}

// Dataset is a BigQuery dataset of project.
func Dataset(project, id string) Resource {
	return Resource{Name: "projects/" + project + "/datasets/" + id, Type: "bigquery.googleapis.com/Dataset", Project: project}
}

// Secret is a Secret Manager secret of project.
func Secret(project, id string) Resource {
	return Resource{Name: "projects/" + project + "/secrets/" + id, Type: "secretmanager.googleapis.com/Secret", Project: project}
}

// ServiceAccount is a Google service account of project, by e-mail.
func ServiceAccount(project, email string) Resource {
	return Resource{Name: "projects/" + project + "/serviceAccounts/" + email, Type: "iam.googleapis.com/ServiceAccount", Project: project}
}

// Request is one permission check.
type Request struct {
	// Principal is the member form: serviceAccount:<e-mail>, or a
	// Kubernetes ServiceAccount's serviceAccount:<project>.svc.id.goog[ns/ksa].
	Principal  string
	Permission string
	Resource   Resource
	// ListPrefix is a storage.objects.list request's prefix (the condition
	// attribute storage.googleapis.com/objectListPrefix).
	ListPrefix string
}

func (r Request) String() string {
	s := r.Principal + " " + r.Permission + " on " + r.Resource.Name
	if r.Permission == "storage.objects.list" {
		s += fmt.Sprintf(" (prefix %q)", r.ListPrefix)
	}
	return s
}

// Policy is every binding a stack registered.
type Policy struct {
	Bindings []Binding
}

// From reads the bindings of a recording made in update mode (in preview
// the members and resources are unknown: it refuses them).
func From(rec *tests.Recorder) (Policy, error) {
	var p Policy
	// Each IAM binding, by the resource it is granted on.
	for _, res := range rec.Resources() {
		in := res.Inputs
		str := func(k string) string { return tests.Str(in, k) }
		b := Binding{Role: str("role"), Member: str("member"), Condition: str("condition.expression"), Source: res.Type + " " + res.Name}
		switch res.Type {
		case "gcp:projects/iAMMember:IAMMember":
			b.Resource = "projects/" + str("project")
		case "gcp:storage/bucketIAMMember:BucketIAMMember":
			b.Resource = "projects/_/buckets/" + str("bucket")
		case "gcp:bigquery/datasetIamMember:DatasetIamMember":
			b.Resource = "projects/" + str("project") + "/datasets/" + str("datasetId")
		case "gcp:serviceaccount/iAMMember:IAMMember":
			b.Resource = str("serviceAccountId")
		case "gcp:iap/webIamMember:WebIamMember":
			b.Resource = "projects/" + str("project") + "/iap_web"
		case "gcp:secretmanager/secretIamMember:SecretIamMember":
			b.Resource = "projects/" + str("project") + "/secrets/" + str("secretId")
		default:
			if strings.Contains(strings.ToLower(res.Type), "iam") {
				return p, fmt.Errorf("%s: an IAM type this evaluator does not read", b.Source)
			}
			continue
		}
		for _, k := range []string{"role", "member"} {
			if !tests.Known(in, k) || str(k) == "" {
				return p, fmt.Errorf("%s: %s unknown (a preview's recording?)", b.Source, k)
			}
		}
		if !strings.HasPrefix(b.Resource, "projects/") || strings.HasSuffix(b.Resource, "/") || strings.Contains(b.Resource, "//") {
			return p, fmt.Errorf("%s: resource %q unknown", b.Source, b.Resource)
		}
		p.Bindings = append(p.Bindings, b)
	}
	return p, nil
}

// appliesTo reports whether a binding on b's resource reaches r: the
// resource itself, anything below it, or (a project binding) anything in
// the project.
func (b Binding) appliesTo(r Resource) bool {
	return b.Resource == r.Name || strings.HasPrefix(r.Name, b.Resource+"/") ||
		(r.Project != "" && b.Resource == "projects/"+r.Project)
}

// Allows says whether the policy allows req, and through which bindings.
// An error means the policy cannot be evaluated for it (a role whose
// permissions are not written down, a condition that does not compile):
// the request counts as refused.
func (p Policy) Allows(req Request) (bool, []Binding, error) {
	var by []Binding
	for _, b := range p.Bindings {
		if b.Member != req.Principal || !b.appliesTo(req.Resource) {
			continue
		}
		perms, ok := RolePermissions[b.Role]
		if !ok {
			return false, nil, fmt.Errorf("%s: the permissions of %s are not written down (tests/iam/roles.go)", b.Source, b.Role)
		}
		if !slices.Contains(perms, req.Permission) {
			continue
		}
		if b.Condition != "" {
			holds, err := evaluate(b.Condition, req)
			if err != nil {
				return false, nil, fmt.Errorf("%s: condition: %w", b.Source, err)
			}
			if !holds {
				continue
			}
		}
		by = append(by, b)
	}
	return len(by) > 0, by, nil
}

// Holds says whether member holds role on exactly resource, unconditionally:
// a grant whose permissions this package does not list (a workflow
// identity's declared role) is checked as the grant itself.
func (p Policy) Holds(member, role string, resource Resource) (bool, []Binding) {
	var by []Binding
	for _, b := range p.Bindings {
		if b.Member == member && b.Role == role && b.Resource == resource.Name && b.Condition == "" {
			by = append(by, b)
		}
	}
	return len(by) > 0, by
}

// WorkloadIdentityMember is Kubernetes ServiceAccount ns/ksa's principal in
// project's Workload Identity pool.
func WorkloadIdentityMember(project, ns, ksa string) string {
	return fmt.Sprintf("serviceAccount:%s.svc.id.goog[%s/%s]", project, ns, ksa)
}

// ActAs is the request GKE's metadata server makes for a pod running as
// Kubernetes ServiceAccount ns/ksa, annotated with the Google service
// account email of project: a token for that account.
func ActAs(project, ns, ksa, email string) Request {
	return Request{
		Principal:  WorkloadIdentityMember(project, ns, ksa),
		Permission: "iam.serviceAccounts.getAccessToken",
		Resource:   ServiceAccount(project, email),
	}
}

// evaluate runs an IAM condition for req.
func evaluate(expr string, req Request) (bool, error) {
	env, err := cel.NewEnv(
		cel.Variable("resource", cel.MapType(cel.StringType, cel.StringType)),
		cel.Variable("api", cel.MapType(cel.StringType, cel.StringType)),
		cel.Function("getAttribute",
			cel.MemberOverload("api_getAttribute_string_string",
				[]*cel.Type{cel.MapType(cel.StringType, cel.StringType), cel.StringType, cel.StringType}, cel.StringType,
				cel.FunctionBinding(func(args ...ref.Val) ref.Val {
					attrs := args[0].Value().(map[string]string)
					if v, ok := attrs[args[1].Value().(string)]; ok {
						return types.String(v)
					}
					return args[2]
				}))),
	)
	if err != nil {
		return false, err
	}
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return false, iss.Err()
	}
	if ast.OutputType() != cel.BoolType {
		return false, fmt.Errorf("%q is not a boolean expression", expr)
	}
	prg, err := env.Program(ast)
	if err != nil {
		return false, err
	}
	service, _, _ := strings.Cut(req.Resource.Type, "/")
	attrs := map[string]string{}
	if req.Permission == "storage.objects.list" {
		attrs["storage.googleapis.com/objectListPrefix"] = req.ListPrefix
	}
	out, _, err := prg.Eval(map[string]any{
		"resource": map[string]string{"name": req.Resource.Name, "type": req.Resource.Type, "service": service},
		"api":      attrs,
	})
	if err != nil {
		return false, err
	}
	v, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("%q gave %v", expr, out)
	}
	return v, nil
}

// Registered is the IAM that the program registers for cfg, read from a
// mock `pulumi up` of the whole program (GCP side included): what the e2e's
// stand-ins apply, for the settings the e2e deploys.
func Registered(cfg *stacks.Loaded) (Policy, error) {
	rec, err := tests.Run(func(ctx *pulumi.Context) error {
		_, err := infra.Platform(ctx, cfg)
		return err
	}, cfg.Environment, map[string]string{}, false)
	if err != nil {
		return Policy{}, err
	}
	return From(rec)
}
