package gcp

import (
	"fmt"
	"maps"
	"slices"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/storage"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Bucket roles, least privilege: the server only reads logs and artifacts;
// the controller (artifact GC) and workflow pods read, write and delete
// objects, never bucket settings or IAM.
const (
	BucketReaderRole = "roles/storage.objectViewer"
	BucketWriterRole = "roles/storage.objectUser"
)

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
	// RetentionDays deletes objects older than this. Required.
	RetentionDays int
	// ForceDestroy lets destroy delete a bucket that still holds objects.
	ForceDestroy bool
	// Readers and Writers are service account e-mails granted object roles on
	// this bucket only.
	Readers, Writers map[string]pulumi.StringInput
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
	grant := func(key, role string, email pulumi.StringInput) error {
		m, err := storage.NewBucketIAMMember(ctx, name+"-"+key+"-"+roleSuffix(role), &storage.BucketIAMMemberArgs{
			Bucket: bucket.Name,
			Role:   pulumi.String(role),
			Member: pulumi.Sprintf("serviceAccount:%s", email),
		}, under(l, args.APIs))
		if err != nil {
			return fmt.Errorf("logs: %s: %w", key, err)
		}
		l.Grants = append(l.Grants, m)
		return nil
	}
	for _, key := range slices.Sorted(maps.Keys(args.Readers)) {
		if err := grant(key, BucketReaderRole, args.Readers[key]); err != nil {
			return nil, err
		}
	}
	for _, key := range slices.Sorted(maps.Keys(args.Writers)) {
		if err := grant(key, BucketWriterRole, args.Writers[key]); err != nil {
			return nil, err
		}
	}
	l.Bucket = bucket.Name
	return l, ctx.RegisterResourceOutputs(l, pulumi.Map{"bucket": bucket.Name})
}
