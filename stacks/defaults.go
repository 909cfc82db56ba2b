package stacks

import (
	"github.com/argo-platform/argo-platform/infra/argo/argoproj"
	"github.com/argo-platform/argo-platform/infra/gcp/google"
)

// Defaults returns the settings an environment gets before its stack file is
// applied. experimental is cheap and easy to tear down; staging resembles
// production at a lower cost; production is highly available and protected.
// An unknown environment gets experimental's values (Validate rejects it).
func Defaults(env string) Settings {
	// Each component's own defaults, then this team's per environment.
	s := Settings{
		Environment: env,
		Network:     google.DefaultNetwork(),
		Cluster:     google.DefaultCluster(),
		Database:    google.DefaultDatabase(),
		Logs:        google.DefaultLogs(),
		Argo:        argoproj.Defaults(),
	}
	switch env {
	case Experimental:
		// Nothing here is kept: soft-deleted objects would only be billed.
		s.Logs.SoftDeleteDays = 0
	case Staging:
		s.Database.Backups = true
		s.Database.DeletionProtection = true
		s.Cluster.DeletionProtection = true
		s.Logs = google.Logs{RetentionDays: 30, SoftDeleteDays: 7}
		s.Argo.ArchiveTTLDays = 30
	case Production:
		s.Protect = true
		s.Cluster.ReleaseChannel = "STABLE"
		s.Cluster.DeletionProtection = true
		s.Database.Tier = "db-custom-2-7680"
		s.Database.HighAvailability = true
		s.Database.DiskSizeGB = 20
		s.Database.Backups = true
		s.Database.PointInTimeRecovery = true
		s.Database.BackupRetentionCount = 30
		s.Database.DeletionProtection = true
		// Two weeks to notice and undo a deleted or overwritten log.
		s.Logs = google.Logs{RetentionDays: 90, SoftDeleteDays: 14}
		// 200 running workflows, 20x the seed: the team left Digdag because
		// compute sat idle; the cluster, not the controller, is the limit.
		s.Argo.Parallelism = 200
		s.Argo.NamespaceParallelism = 200
		// 20 pods/s (bursts of 60 cover it over the 2 s requeue): a wide
		// fan-out starts within seconds without flooding the API server
		// (GKE's control plane takes far more; Argo's default is
		// unlimited).
		s.Argo.PodsPerSecond = 20
		s.Argo.PodBurst = 60
		// Argo's default worker count (32) and an API rate for the running
		// workflows' status writes; sized at 1 CPU. make bench measured no
		// difference at 100/s (100 workflows at once: 8.9 s against 9.3 s,
		// bound by the controller's own work on this machine), so the rate
		// stays at 50/s.
		s.Argo.WorkflowWorkers = 32
		s.Argo.APIQPS = 50
		s.Argo.APIBurst = 100
		s.Argo.ServerReplicas = 2
		// Half a year of history for audits; Workflow objects leave etcd
		// after three days (a weekend plus a day to look at failures).
		s.Argo.ArchiveTTLDays = 180
		s.Argo.WorkflowTTLHours = 72
		// A heavy team's busiest day (the seed's team runs about 120):
		// argo-server is sized for 216,000 archived workflows (2.75 GiB,
		// make bench-archive).
		s.Argo.ArchivedRunsPerDay = 1200
		// Spot is opt-in per workflow: a preempted step delays the daily
		// batch, which production jobs may not afford.
		s.Argo.SpotSteps = false
	}
	return s
}
