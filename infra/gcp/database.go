package gcp

import (
	"fmt"
	"maps"
	"slices"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/sql"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/infra/gcp/google"
)

// DatabaseArgs configures Database.
type DatabaseArgs struct {
	// APIs are the enabled project APIs; every child waits for them (a
	// component's own dependencies do not reach its children).
	APIs []pulumi.Resource
	// Project, Region and Network place the instance; it gets a private IP
	// in Network only. Required.
	Project pulumi.StringInput
	Region  pulumi.StringInput
	Network pulumi.StringInput
	// PrivateServices is the peering the private IP needs. Required.
	PrivateServices pulumi.Resource
	// InstanceName and DatabaseName name the instance and Argo's database.
	InstanceName, DatabaseName string
	// Database is the settings' database section: the tier, the
	// PostgreSQL major, availability, disk, backups and point-in-time
	// recovery, deletion protection (Cloud SQL's own guard, and the
	// provider's) and the weekly maintenance window. Required.
	google.Database
	// IAMUsers are service account e-mails that log in with IAM
	// authentication (controller, server). Required.
	IAMUsers map[string]pulumi.StringInput
	// AdminUser and AdminPassword are the built-in user that runs the one-time
	// grants (see infra/argo's bootstrap). Required; the password is secret.
	AdminUser     string
	AdminPassword pulumi.StringInput
	// Protect adds Pulumi's protect.
	Protect bool
}

// Database is the Cloud SQL for PostgreSQL instance behind Argo's workflow
// archive and status offload.
type Database struct {
	pulumi.ResourceState

	// ConnectionName is project:region:instance, what the Auth Proxy dials.
	ConnectionName pulumi.StringOutput
	// DatabaseName is Argo's database.
	DatabaseName pulumi.StringOutput
	// Users maps each IAMUsers key to its database user name, and AdminUser
	// is the built-in user's: each user exists once its name resolves, so
	// whatever reads a name waits for the user.
	Users     map[string]pulumi.StringOutput
	AdminUser pulumi.StringOutput
}

// NewDatabase creates the instance, Argo's database and its users.
func NewDatabase(ctx *pulumi.Context, name string, args *DatabaseArgs, opts ...pulumi.ResourceOption) (*Database, error) {
	db := &Database{Users: map[string]pulumi.StringOutput{}}
	if err := ctx.RegisterComponentResource(typePrefix+"Database", name, db, opts...); err != nil {
		return nil, err
	}
	availability := "ZONAL"
	if args.HighAvailability {
		availability = "REGIONAL"
	}
	instance, err := sql.NewDatabaseInstance(ctx, name, &sql.DatabaseInstanceArgs{
		Project:         args.Project,
		Region:          args.Region,
		Name:            pulumi.String(args.InstanceName),
		DatabaseVersion: pulumi.String(args.Version),
		// Pulumi-side guard; the cloud's own is deletionProtectionEnabled.
		DeletionProtection: pulumi.Bool(args.DeletionProtection),
		Settings: sql.DatabaseInstanceSettingsArgs{
			// Enterprise, not Enterprise Plus: new PostgreSQL 16+ instances
			// default to Plus, which refuses db-custom tiers.
			Edition:                   pulumi.String("ENTERPRISE"),
			Tier:                      pulumi.String(args.Tier),
			AvailabilityType:          pulumi.String(availability),
			DiskType:                  pulumi.String("PD_SSD"),
			DiskSize:                  pulumi.Int(args.DiskSizeGB),
			DiskAutoresize:            pulumi.Bool(true),
			DeletionProtectionEnabled: pulumi.Bool(args.DeletionProtection),
			IpConfiguration: sql.DatabaseInstanceSettingsIpConfigurationArgs{
				// Private IP only: reachable from the VPC, never the internet.
				Ipv4Enabled:    pulumi.Bool(false),
				PrivateNetwork: args.Network,
				// Every connection is encrypted (the Auth Proxy does mTLS).
				SslMode: pulumi.String("ENCRYPTED_ONLY"),
			},
			// Only Cloud SQL connectors (the Auth Proxy sidecars) may
			// connect, and a connector needs cloudsql.instances.connect,
			// which only the controller's and the server's accounts hold: a
			// pod that learned the admin password cannot log in over the
			// private IP. Argo and both grant Jobs connect through their
			// proxies, so nothing they do needs a direct connection.
			ConnectorEnforcement: pulumi.String("REQUIRED"),
			DatabaseFlags: sql.DatabaseInstanceSettingsDatabaseFlagArray{
				// Argo logs in as its pods' Workload Identity: no password.
				sql.DatabaseInstanceSettingsDatabaseFlagArgs{Name: pulumi.String("cloudsql.iam_authentication"), Value: pulumi.String("on")},
			},
			BackupConfiguration: sql.DatabaseInstanceSettingsBackupConfigurationArgs{
				Enabled:                     pulumi.Bool(args.Backups),
				PointInTimeRecoveryEnabled:  pulumi.Bool(args.PointInTimeRecovery),
				StartTime:                   pulumi.String("16:00"),
				TransactionLogRetentionDays: pulumi.Int(args.LogRetentionDays),
				BackupRetentionSettings: sql.DatabaseInstanceSettingsBackupConfigurationBackupRetentionSettingsArgs{
					RetainedBackups: pulumi.Int(args.BackupRetentionCount),
				},
			},
			MaintenanceWindow: sql.DatabaseInstanceSettingsMaintenanceWindowArgs{
				Day:         pulumi.Int(args.MaintenanceDay),
				Hour:        pulumi.Int(args.MaintenanceHour),
				UpdateTrack: pulumi.String("stable"),
			},
			InsightsConfig: sql.DatabaseInstanceSettingsInsightsConfigArgs{
				QueryInsightsEnabled: pulumi.Bool(true),
			},
		},
	}, under(db, args.APIs), protectIf(args.Protect), pulumi.DependsOn([]pulumi.Resource{args.PrivateServices}))
	if err != nil {
		return nil, fmt.Errorf("database: instance: %w", err)
	}
	// The database and the built-in admin go with the instance on destroy
	// (DeletedWith), not through their own API calls: the grant Job made the
	// admin the grantor of Argo's rights, and PostgreSQL refuses to drop a
	// role whose grants are still held, or a database other roles own
	// objects in. DeletedWith rather than deletionPolicy ABANDON because it
	// is an option, not an input: existing stacks see no diff at all.
	withInstance := pulumi.DeletedWith(instance)
	database, err := sql.NewDatabase(ctx, name+"-"+args.DatabaseName, &sql.DatabaseArgs{
		Project:  args.Project,
		Instance: instance.Name,
		Name:     pulumi.String(args.DatabaseName),
	}, under(db, args.APIs), protectIf(args.Protect), withInstance)
	if err != nil {
		return nil, fmt.Errorf("database: %s: %w", args.DatabaseName, err)
	}
	admin, err := sql.NewUser(ctx, name+"-"+args.AdminUser, &sql.UserArgs{
		Project:  args.Project,
		Instance: instance.Name,
		Name:     pulumi.String(args.AdminUser),
		Type:     pulumi.String("BUILT_IN"),
		Password: pulumi.ToSecret(args.AdminPassword).(pulumi.StringOutput),
	}, under(db, args.APIs), withInstance)
	if err != nil {
		return nil, fmt.Errorf("database: admin user: %w", err)
	}
	db.AdminUser = admin.Name
	for _, key := range slices.Sorted(maps.Keys(args.IAMUsers)) {
		user, err := sql.NewUser(ctx, name+"-"+key, &sql.UserArgs{
			Project:  args.Project,
			Instance: instance.Name,
			// Cloud SQL names an IAM service account user by its e-mail
			// without ".gserviceaccount.com".
			Name: args.IAMUsers[key].ToStringOutput().ApplyT(google.DatabaseUser).(pulumi.StringOutput),
			Type: pulumi.String("CLOUD_IAM_SERVICE_ACCOUNT"),
			// The controller's user owns Argo's tables; PostgreSQL refuses to
			// drop a role that owns objects, so destroy leaves the role.
			DeletionPolicy: pulumi.String("ABANDON"),
		}, under(db, args.APIs))
		if err != nil {
			return nil, fmt.Errorf("database: user %s: %w", key, err)
		}
		db.Users[key] = user.Name
	}
	db.ConnectionName, db.DatabaseName = instance.ConnectionName, database.Name
	return db, ctx.RegisterResourceOutputs(db, pulumi.Map{
		"connectionName": instance.ConnectionName,
		"database":       database.Name,
	})
}
