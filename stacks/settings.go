// Package stacks holds the typed, per-environment settings of argo-platform:
// what each Pulumi.<stack>.yaml may say, the defaults each environment gets,
// strict decoding, and validation. It registers no resources.
package stacks

// The three environments the platform is built for. Each gets its own GCP
// project and stack; their defaults differ (see Defaults).
const (
	Experimental = "experimental"
	Staging      = "staging"
	Production   = "production"
)

// Environments lists the accepted environment names in promotion order.
var Environments = []string{Experimental, Staging, Production}

// Settings is everything one stack says, after defaults are applied.
// Project and Region come from the provider keys `gcp:project` and
// `gcp:region`; everything else from the `argo-platform:settings` block.
type Settings struct {
	// Project is the GCP project id (`gcp:project`). Required.
	Project string `json:"-"`
	// Region is the GCP region (`gcp:region`). Required.
	Region string `json:"-"`

	// Environment is one of experimental, staging, production. Required; it
	// picks the defaults and is part of every resource name (argo-<env>).
	Environment string `json:"environment"`
	// Domain is the host Argo's UI is served on, e.g. argo.staging.example.com.
	// Required: the managed certificate and the Ingress rule are issued for it.
	Domain string `json:"domain"`
	// Protect puts Pulumi's `protect` on the data (cluster, database, bucket) on
	// top of the cloud's own deletion protection. Default: production only.
	Protect bool `json:"protect"`

	Network  Network  `json:"network"`
	Cluster  Cluster  `json:"cluster"`
	Database Database `json:"database"`
	Logs     Logs     `json:"logs"`
	IAP      IAP      `json:"iap"`
	DNS      DNS      `json:"dns"`
	Argo     Argo     `json:"argo"`
	// Alerts is who hears about failures.
	Alerts Alerts `json:"alerts"`
	// Identities are the workflow identities: each a Google service account
	// with exactly the grants listed, and a Kubernetes ServiceAccount of the
	// same name in the workflow namespace that workflows name in
	// serviceAccountName. Default none (workflows run as argo-workflow).
	Identities []Identity `json:"identities"`
}

// Alerts is who Cloud Monitoring notifies when a workflow fails, the
// controller is down or stalled, step pods stay Pending, or the archive is
// not written (infra/monitoring).
type Alerts struct {
	// Emails each get an e-mail notification channel on every alert
	// policy. Default none outside production (the policies still open
	// incidents in the console); production must name at least one.
	Emails []string `json:"emails"`
}

// Identity is one workflow identity: what a pipeline may do on Google Cloud.
type Identity struct {
	// Name is the Kubernetes ServiceAccount workflows name, and with the
	// environment the Google service account id (<name>-<environment>).
	Name string `json:"name"`
	// Description says what the pipelines running as it do (shown on the
	// service account).
	Description string `json:"description"`
	// ProjectRoles are granted on the stack's project.
	ProjectRoles []string `json:"projectRoles"`
	// Datasets are BigQuery datasets of the stack's project, each with the
	// role granted on it.
	Datasets []DatasetRole `json:"datasets"`
	// Buckets are GCS buckets, each with the role granted on it.
	Buckets []BucketRole `json:"buckets"`
}

// DatasetRole is a role on one BigQuery dataset.
type DatasetRole struct {
	Dataset string `json:"dataset"`
	Role    string `json:"role"`
}

// BucketRole is a role on one GCS bucket.
type BucketRole struct {
	Bucket string `json:"bucket"`
	Role   string `json:"role"`
}

// Network is the VPC the cluster and the database live in.
type Network struct {
	// SubnetCIDR is the primary range of the cluster's subnet (nodes).
	SubnetCIDR string `json:"subnetCIDR"`
	// PodsCIDR is the subnet's secondary range for pods.
	PodsCIDR string `json:"podsCIDR"`
	// ServicesCIDR is the subnet's secondary range for Services.
	ServicesCIDR string `json:"servicesCIDR"`
	// ControlPlaneCIDR is the /28 the GKE control plane's private endpoint uses.
	ControlPlaneCIDR string `json:"controlPlaneCIDR"`
	// PrivateServicesCIDR is reserved for private services access (Cloud SQL's
	// private IP); /24 or larger.
	PrivateServicesCIDR string `json:"privateServicesCIDR"`
}

// Cluster is the GKE Autopilot cluster.
type Cluster struct {
	// ReleaseChannel is RAPID, REGULAR or STABLE.
	ReleaseChannel string `json:"releaseChannel"`
	// DeletionProtection is GKE's own guard against `destroy`.
	DeletionProtection bool `json:"deletionProtection"`
	// AuthorizedNetworks may reach the control plane's public endpoint: the
	// deployers' and CI's egress ranges. Never 0.0.0.0/0.
	AuthorizedNetworks []AuthorizedNetwork `json:"authorizedNetworks"`
	// MaintenanceStartUTC is when the weekend maintenance window opens, "HH:MM".
	MaintenanceStartUTC string `json:"maintenanceStartUTC"`
}

// AuthorizedNetwork is one CIDR allowed to reach the control plane.
type AuthorizedNetwork struct {
	Name string `json:"name"`
	CIDR string `json:"cidr"`
}

// Database is the Cloud SQL for PostgreSQL instance holding Argo's workflow
// status offload and archive.
type Database struct {
	// Tier is the machine type, db-custom-<vCPU>-<MiB> (or a shared-core tier
	// outside production).
	Tier string `json:"tier"`
	// Version is the PostgreSQL major, POSTGRES_15 to POSTGRES_18.
	Version string `json:"version"`
	// HighAvailability makes the instance REGIONAL (a standby in another zone).
	HighAvailability bool `json:"highAvailability"`
	// DiskSizeGB is the initial SSD size; it grows automatically.
	DiskSizeGB int `json:"diskSizeGB"`
	// Backups turns daily backups on.
	Backups bool `json:"backups"`
	// PointInTimeRecovery keeps write-ahead logs for restores to any second.
	PointInTimeRecovery bool `json:"pointInTimeRecovery"`
	// BackupRetentionCount is how many daily backups are kept (1-365).
	BackupRetentionCount int `json:"backupRetentionCount"`
	// LogRetentionDays is how many days of transaction logs PITR keeps (1-7).
	LogRetentionDays int `json:"logRetentionDays"`
	// DeletionProtection is Cloud SQL's own guard against deletion.
	DeletionProtection bool `json:"deletionProtection"`
	// MaintenanceDay is 1 (Monday) to 7 (Sunday); MaintenanceHour 0-23 UTC.
	MaintenanceDay  int `json:"maintenanceDay"`
	MaintenanceHour int `json:"maintenanceHour"`
}

// Logs is the GCS bucket Argo archives every step's logs and artifacts to.
type Logs struct {
	// RetentionDays deletes objects older than this (1-3650).
	RetentionDays int `json:"retentionDays"`
	// ForceDestroy lets `destroy` delete a bucket that still holds logs.
	ForceDestroy bool `json:"forceDestroy"`
}

// IAP is who may open Argo's UI through Identity-Aware Proxy.
type IAP struct {
	// Members get roles/iap.httpsResourceAccessor: user:, group:,
	// serviceAccount: or domain: principals. Required in production.
	Members []string `json:"members"`
	// OrganizationDomain is the Google Cloud organization's domain (e.g.
	// example.com). Optional. IAP with GKE's Google-managed OAuth client
	// admits only the organization's own users, so when it is set, members
	// outside it are refused before anything is created instead of being
	// granted a role they can never use.
	OrganizationDomain string `json:"organizationDomain"`
}

// DNS optionally publishes an A record for Domain.
type DNS struct {
	// ManagedZone is the Cloud DNS zone name (in the same project) to publish
	// the record in. Empty: manage DNS elsewhere and point it at the static IP.
	ManagedZone string `json:"managedZone"`
}

// Argo is the Argo Workflows install.
type Argo struct {
	// Version is the Argo release, vMAJOR.MINOR.PATCH, 3.7 or newer.
	Version string `json:"version"`
	// Namespace is Argo's home: the controller, the server, the database
	// grant Job and the Secrets they use. Workflows never run here.
	Namespace string `json:"namespace"`
	// WorkflowNamespace is where workflows run (Argo's managed namespace).
	// It holds only what a workflow may use: the workflow accounts and the
	// WorkflowSecrets. An admission policy refuses any other.
	WorkflowNamespace string `json:"workflowNamespace"`
	// WorkflowSecrets are the Secrets of WorkflowNamespace that a workflow
	// pod may mount or read into its environment; none by default.
	WorkflowSecrets []string `json:"workflowSecrets"`
	// Parallelism caps running workflows; NamespaceParallelism caps them per
	// namespace.
	Parallelism          int `json:"parallelism"`
	NamespaceParallelism int `json:"namespaceParallelism"`
	// PodsPerSecond and PodBurst are resourceRateLimit: how fast the
	// controller creates step pods.
	PodsPerSecond float64 `json:"podsPerSecond"`
	PodBurst      int     `json:"podBurst"`
	// RequeueSeconds is how soon the controller looks at a workflow again
	// after a change (Argo's DEFAULT_REQUEUE_TIME). Step pods are created
	// only then, at most PodBurst at a time, so PodBurst must cover
	// PodsPerSecond for RequeueSeconds or the rate limit is never reached.
	RequeueSeconds int `json:"requeueSeconds"`
	// WorkflowWorkers, APIQPS and APIBurst size the controller.
	WorkflowWorkers int     `json:"workflowWorkers"`
	APIQPS          float64 `json:"apiQPS"`
	APIBurst        int     `json:"apiBurst"`
	// ServerReplicas is argo-server's replica count (2+ gets a PDB).
	ServerReplicas int `json:"serverReplicas"`
	// ArchiveTTLDays is how long archived workflows stay in the database.
	ArchiveTTLDays int `json:"archiveTTLDays"`
	// WorkflowTTLHours is how long finished Workflow objects stay in the
	// cluster (they remain in the archive).
	WorkflowTTLHours int `json:"workflowTTLHours"`
	// SpotSteps schedules workflow steps on Spot Pods by default.
	SpotSteps bool `json:"spotSteps"`
}
