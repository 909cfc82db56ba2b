package gcp

import (
	"fmt"
	"maps"
	"slices"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/storage"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/infra/gcp/google"
)

// Bucket roles, least privilege: the server reads every log and artifact
// (the UI shows them all); each workflow account reads, writes and deletes
// objects in its own folder only, never bucket settings or IAM. Nothing
// else touches the bucket: the controller never opens it.
const (
	BucketReaderRole = "roles/storage.objectViewer"
	BucketWriterRole = "roles/storage.objectUser"
)

// Folder is one writer's part of the bucket: a service account and the
// object name prefix it may use.
type Folder struct {
	// Email is the service account's e-mail. Required.
	Email pulumi.StringInput
	// Prefix starts the name of every object it may read, write or delete;
	// it ends with a slash, so no other writer's prefix starts with it.
	// Required.
	Prefix string
}

// FolderCondition is the IAM condition that limits a grant on bucket to the
// objects whose names start with prefix. IAM evaluates an object request
// against the object (resource.name projects/_/buckets/<bucket>/objects/<name>)
// and a list request against the bucket, with the list's prefix in the
// storage.googleapis.com/objectListPrefix attribute: so a list is allowed
// only inside the folder too (Argo lists a key's objects before it
// downloads an input artifact). Conditions need uniform bucket-level access,
// which the bucket has.
func FolderCondition(bucket, prefix string) string {
	return fmt.Sprintf(`resource.name.startsWith("projects/_/buckets/%[1]s/objects/%[2]s") || `+
		`(resource.type == "storage.googleapis.com/Bucket" && api.getAttribute("storage.googleapis.com/objectListPrefix", "").startsWith("%[2]s"))`,
		bucket, prefix)
}

// LogsArgs configures Logs.
type LogsArgs struct {
	// APIs are the enabled project APIs; every child waits for them (a
	// component's own dependencies do not reach its children).
	APIs []pulumi.Resource
	// Project and Location place the bucket (Location: the region). Required.
	Project  pulumi.StringInput
	Location pulumi.StringInput
	// BucketName is globally unique (it starts with the project id). Required.
	BucketName string
	// Logs is the settings' logs section: how long objects are kept, and
	// whether destroy may delete a bucket that still holds some. Required.
	google.Logs
	// Readers are service account e-mails that may read every object.
	// Optional.
	Readers map[string]pulumi.StringInput
	// Writers may read, write and delete the objects of their own folder
	// only (FolderCondition). Optional.
	Writers map[string]Folder
	// Protect adds Pulumi's protect.
	Protect bool
}

// Logs is the GCS bucket Argo archives step logs and artifacts to.
type Logs struct {
	pulumi.ResourceState

	// Bucket is the bucket name.
	Bucket pulumi.StringOutput
	// Grants are the bucket IAM bindings pods need before they start.
	Grants []pulumi.Resource
}

// NewLogs creates the bucket and its grants.
func NewLogs(ctx *pulumi.Context, name string, args *LogsArgs, opts ...pulumi.ResourceOption) (*Logs, error) {
	l := &Logs{}
	if err := ctx.RegisterComponentResource(typePrefix+"Logs", name, l, opts...); err != nil {
		return nil, err
	}
	bucket, err := storage.NewBucket(ctx, name, &storage.BucketArgs{
		Project:                  args.Project,
		Name:                     pulumi.String(args.BucketName),
		Location:                 args.Location,
		UniformBucketLevelAccess: pulumi.Bool(true),
		PublicAccessPrevention:   pulumi.String("enforced"),
		ForceDestroy:             pulumi.Bool(args.ForceDestroy),
		// Deleted and overwritten objects stay restorable this long (0: off);
		// the provider leaves GCS's default of 7 days when the field is
		// absent, so it is always written.
		SoftDeletePolicy: storage.BucketSoftDeletePolicyArgs{
			RetentionDurationSeconds: pulumi.Int(args.SoftDeleteDays * 24 * 60 * 60),
		},
		LifecycleRules: storage.BucketLifecycleRuleArray{
			storage.BucketLifecycleRuleArgs{
				Action:    storage.BucketLifecycleRuleActionArgs{Type: pulumi.String("Delete")},
				Condition: storage.BucketLifecycleRuleConditionArgs{Age: pulumi.Int(args.RetentionDays)},
			},
		},
	}, under(l, args.APIs), protectIf(args.Protect))
	if err != nil {
		return nil, fmt.Errorf("logs: bucket: %w", err)
	}
	grant := func(key, role string, email pulumi.StringInput, condition *storage.BucketIAMMemberConditionArgs) error {
		m, err := storage.NewBucketIAMMember(ctx, name+"-"+key+"-"+google.RoleKey(role), &storage.BucketIAMMemberArgs{
			Bucket:    bucket.Name,
			Role:      pulumi.String(role),
			Member:    pulumi.Sprintf("serviceAccount:%s", email),
			Condition: condition,
		}, under(l, args.APIs))
		if err != nil {
			return fmt.Errorf("logs: %s: %w", key, err)
		}
		l.Grants = append(l.Grants, m)
		return nil
	}
	for _, key := range slices.Sorted(maps.Keys(args.Readers)) {
		if err := grant(key, BucketReaderRole, args.Readers[key], nil); err != nil {
			return nil, err
		}
	}
	for _, key := range slices.Sorted(maps.Keys(args.Writers)) {
		f := args.Writers[key]
		if err := grant(key, BucketWriterRole, f.Email, &storage.BucketIAMMemberConditionArgs{
			Title:       pulumi.String("own folder " + f.Prefix),
			Description: pulumi.String("objects under " + f.Prefix + " only: the workflows running as this account write their logs and artifacts there"),
			Expression:  pulumi.String(FolderCondition(args.BucketName, f.Prefix)),
		}); err != nil {
			return nil, err
		}
	}
	l.Bucket = bucket.Name
	return l, ctx.RegisterResourceOutputs(l, pulumi.Map{"bucket": bucket.Name})
}
