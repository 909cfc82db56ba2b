package gcp

import (
	"fmt"
	"maps"
	"slices"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/bigquery"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/projects"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/secretmanager"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/serviceaccount"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/storage"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/infra/gcp/google"
)

// Account is one component's identity: a Google service account and the
// Kubernetes ServiceAccount allowed to act as it through Workload Identity.
type Account struct {
	// ID is the service account id; KSA the Kubernetes ServiceAccount name,
	// in Namespace.
	ID, Namespace, KSA string
	// DisplayName says what the account is for.
	DisplayName string
	// DatabaseClient grants the Cloud SQL roles needed to open the database
	// through the Auth Proxy with IAM login.
	DatabaseClient bool
	// Description is shown on the service account. Optional.
	Description string
	// Grants are granted to the account: roles on the project, on BigQuery
	// datasets and Secret Manager secrets of the project, on buckets. Optional; a workflow identity's
	// declared grants, nothing else.
	google.Grants
}

// IdentityArgs configures Identity.
type IdentityArgs struct {
	// APIs are the enabled project APIs; every child waits for them (a
	// component's own dependencies do not reach its children).
	APIs []pulumi.Resource
	// Project holds the accounts and its Workload Identity pool. Required.
	Project string
	// Accounts are created one per component. Required.
	Accounts map[string]Account
	// Cluster creates the project's Workload Identity pool: bindings naming
	// <project>.svc.id.goog fail until it exists. Required.
	Cluster pulumi.Resource
}

// Identity holds a service account per component (controller, server,
// workflow pods), each bound to its Kubernetes ServiceAccount.
type Identity struct {
	pulumi.ResourceState

	// Emails maps each account key to its service account e-mail.
	Emails map[string]pulumi.StringOutput
	// Grants are the IAM bindings pods need before they start.
	Grants []pulumi.Resource
}

// Roles the database clients need on the project: connect through the Auth
// Proxy, and log in as an IAM database user.
var databaseClientRoles = []string{"roles/cloudsql.client", "roles/cloudsql.instanceUser"}

// WorkloadIdentityMember is the principal of a Kubernetes ServiceAccount in
// the project's Workload Identity pool.
func WorkloadIdentityMember(project, namespace, ksa string) string {
	return fmt.Sprintf("serviceAccount:%s.svc.id.goog[%s/%s]", project, namespace, ksa)
}

// NewIdentity creates the accounts and their bindings.
func NewIdentity(ctx *pulumi.Context, name string, args *IdentityArgs, opts ...pulumi.ResourceOption) (*Identity, error) {
	id := &Identity{Emails: map[string]pulumi.StringOutput{}}
	if err := ctx.RegisterComponentResource(typePrefix+"Identity", name, id, opts...); err != nil {
		return nil, err
	}
	outputs := pulumi.Map{}
	for _, key := range slices.Sorted(maps.Keys(args.Accounts)) {
		a := args.Accounts[key]
		// Seed lesson: explicit accounts, one per component, never the
		// node's default account.
		sa, err := serviceaccount.NewAccount(ctx, name+"-"+key, &serviceaccount.AccountArgs{
			Project:     pulumi.String(args.Project),
			AccountId:   pulumi.String(a.ID),
			DisplayName: pulumi.String(a.DisplayName),
			Description: description(a.Description),
		}, under(id, args.APIs))
		if err != nil {
			return nil, fmt.Errorf("identity: %s: %w", key, err)
		}
		wi, err := serviceaccount.NewIAMMember(ctx, name+"-"+key+"-workload-identity", &serviceaccount.IAMMemberArgs{
			ServiceAccountId: sa.Name,
			Role:             pulumi.String("roles/iam.workloadIdentityUser"),
			Member:           pulumi.String(WorkloadIdentityMember(args.Project, a.Namespace, a.KSA)),
		}, under(id, args.APIs), pulumi.DependsOn([]pulumi.Resource{args.Cluster}))
		if err != nil {
			return nil, fmt.Errorf("identity: %s: workload identity: %w", key, err)
		}
		id.Grants = append(id.Grants, wi)
		if a.DatabaseClient {
			for _, role := range databaseClientRoles {
				m, err := projects.NewIAMMember(ctx, name+"-"+key+"-"+google.RoleKey(role), &projects.IAMMemberArgs{
					Project: pulumi.String(args.Project),
					Role:    pulumi.String(role),
					Member:  pulumi.Sprintf("serviceAccount:%s", sa.Email),
				}, under(id, args.APIs))
				if err != nil {
					return nil, fmt.Errorf("identity: %s: %s: %w", key, role, err)
				}
				id.Grants = append(id.Grants, m)
			}
		}
		member := pulumi.Sprintf("serviceAccount:%s", sa.Email)
		for _, role := range a.ProjectRoles {
			m, err := projects.NewIAMMember(ctx, name+"-"+key+"-"+google.RoleKey(role), &projects.IAMMemberArgs{
				Project: pulumi.String(args.Project), Role: pulumi.String(role), Member: member,
			}, under(id, args.APIs))
			if err != nil {
				return nil, fmt.Errorf("identity: %s: %s: %w", key, role, err)
			}
			id.Grants = append(id.Grants, m)
		}
		for _, d := range a.Datasets {
			m, err := bigquery.NewDatasetIamMember(ctx, name+"-"+key+"-dataset-"+d.Dataset+"-"+google.RoleKey(d.Role), &bigquery.DatasetIamMemberArgs{
				Project: pulumi.String(args.Project), DatasetId: pulumi.String(d.Dataset), Role: pulumi.String(d.Role), Member: member,
			}, under(id, args.APIs))
			if err != nil {
				return nil, fmt.Errorf("identity: %s: dataset %s: %w", key, d.Dataset, err)
			}
			id.Grants = append(id.Grants, m)
		}
		for _, b := range a.Buckets {
			m, err := storage.NewBucketIAMMember(ctx, name+"-"+key+"-bucket-"+b.Bucket+"-"+google.RoleKey(b.Role), &storage.BucketIAMMemberArgs{
				Bucket: pulumi.String(b.Bucket), Role: pulumi.String(b.Role), Member: member,
			}, under(id, args.APIs))
			if err != nil {
				return nil, fmt.Errorf("identity: %s: bucket %s: %w", key, b.Bucket, err)
			}
			id.Grants = append(id.Grants, m)
		}
		for _, s := range a.Secrets {
			m, err := secretmanager.NewSecretIamMember(ctx, name+"-"+key+"-secret-"+s.Secret+"-"+google.RoleKey(s.Role), &secretmanager.SecretIamMemberArgs{
				Project: pulumi.String(args.Project), SecretId: pulumi.String(s.Secret), Role: pulumi.String(s.Role), Member: member,
			}, under(id, args.APIs))
			if err != nil {
				return nil, fmt.Errorf("identity: %s: secret %s: %w", key, s.Secret, err)
			}
			id.Grants = append(id.Grants, m)
		}
		// A user-managed account's e-mail is always <id>@<project>.iam...;
		// deriving it from the accountId output keeps the dependency on the
		// account and makes it known at preview, so previews show the real
		// annotations and database users instead of unknowns.
		email := sa.AccountId.ApplyT(func(id string) string {
			return google.ServiceAccountEmail(id, args.Project)
		}).(pulumi.StringOutput)
		id.Emails[key] = email
		outputs[key] = email
	}
	return id, ctx.RegisterResourceOutputs(id, outputs)
}

// description is d, or no input at all when d is empty (an account created
// without one shows no diff).
func description(d string) pulumi.StringPtrInput {
	if d == "" {
		return nil
	}
	return pulumi.String(d)
}
