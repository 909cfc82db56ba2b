package google

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/argo-platform/argo-platform/infra/setting"
)

// Database is the Cloud SQL for PostgreSQL instance holding Argo's workflow
// status offload and archive (infra/gcp's Database): the settings block's
// `database` section.
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

// DefaultDatabase is the instance an environment gets unless its stack
// file or its environment's policy says otherwise.
func DefaultDatabase() Database {
	return Database{
		// One dedicated vCPU: shared-core tiers have no SLA and are
		// refused in production.
		Tier:            "db-custom-1-3840",
		Version:         "POSTGRES_17",
		DiskSizeGB:      10,
		MaintenanceDay:  7,
		MaintenanceHour: 18,
		// Retention only matters once Backups is on.
		BackupRetentionCount: 7,
		LogRetentionDays:     7,
	}
}

// PostgresVersions are the PostgreSQL majors Cloud SQL offers that this
// program accepts.
var PostgresVersions = []string{"POSTGRES_15", "POSTGRES_16", "POSTGRES_17", "POSTGRES_18"}

// SharedCoreTiers are Cloud SQL's shared-core machine types: no SLA.
var SharedCoreTiers = []string{"db-f1-micro", "db-g1-small"}

var customTier = regexp.MustCompile(`^db-custom-([0-9]+)-([0-9]+)$`)

// Check notes what Cloud SQL would refuse.
func (d Database) Check(r *setting.Rules) {
	if msg := CheckTier(d.Tier); msg != "" {
		r.Add("tier", d.Tier, msg)
	}
	if !slices.Contains(PostgresVersions, d.Version) {
		r.Add("version", d.Version, "one of "+strings.Join(PostgresVersions, ", "))
	}
	r.InRange("diskSizeGB", d.DiskSizeGB, 10, 65536)
	r.InRange("backupRetentionCount", d.BackupRetentionCount, 1, 365)
	r.InRange("logRetentionDays", d.LogRetentionDays, 1, 7)
	r.InRange("maintenanceDay", d.MaintenanceDay, 1, 7)
	r.InRange("maintenanceHour", d.MaintenanceHour, 0, 23)
	if d.PointInTimeRecovery && !d.Backups {
		r.Say("pointInTimeRecovery", "true needs %s: true (point-in-time recovery replays logs onto a backup)", r.Key("backups"))
	}
}

// CheckTier says what tier should be ("" when Cloud SQL offers it).
func CheckTier(t string) string {
	const want = "db-custom-<vCPUs>-<MiB> (1 or an even number of vCPUs up to 96; memory a multiple of 256 MiB, at least 3840, 0.9 to 6.5 GiB per vCPU), or db-f1-micro / db-g1-small outside production"
	if slices.Contains(SharedCoreTiers, t) {
		return ""
	}
	m := customTier.FindStringSubmatch(t)
	if m == nil {
		return want
	}
	cpus, _ := strconv.Atoi(m[1])
	mem, _ := strconv.Atoi(m[2])
	if cpus < 1 || cpus > 96 || (cpus > 1 && cpus%2 != 0) {
		return want
	}
	if mem%256 != 0 || mem < 3840 || float64(mem) < 0.9*1024*float64(cpus) || float64(mem) > 6.5*1024*float64(cpus) {
		return want
	}
	return ""
}
