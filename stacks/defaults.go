package stacks

// DefaultArgoVersion is the Argo Workflows release installed unless a stack
// pins another.
const DefaultArgoVersion = "v4.1.2"

// ArgoVersions are the Argo Workflows releases this program is checked
// against: their CRDs, the RBAC their controller and server need, and the
// ConfigMap keys they accept. v4.0.7 runs for real in the end-to-end tests
// (tools/argo pins it; tools/argo's test decodes every stack's ConfigMaps
// with its own reader), and v4.1.2, the release deployed, was checked
// against its release manifests and config package. Any other release is
// refused until it has been checked the same way and added here. v4.0.5,
// checked before, is refused since security flaws were reported for it;
// v4.0.7 has the same CRDs but for descriptions, the same RBAC, ConfigMap
// keys and database migrations.
var ArgoVersions = []string{"v4.0.7", DefaultArgoVersion}

// Defaults returns the settings an environment gets before its stack file is
// applied. experimental is cheap and easy to tear down; staging resembles
// production at a lower cost; production is highly available and protected.
// An unknown environment gets experimental's values (Validate rejects it).
func Defaults(env string) Settings {
	s := Settings{
		Environment: env,
		Network: Network{
			SubnetCIDR:          "10.10.0.0/20",
			PodsCIDR:            "10.20.0.0/16",
			ServicesCIDR:        "10.30.0.0/20",
			ControlPlaneCIDR:    "172.16.0.0/28",
			PrivateServicesCIDR: "10.40.0.0/20",
		},
		Cluster: Cluster{
			ReleaseChannel:      "REGULAR",
			MaintenanceStartUTC: "17:00",
		},
		Database: Database{
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
		},
		Logs: Logs{RetentionDays: 14, ForceDestroy: true},
		Argo: Argo{
			Version:   DefaultArgoVersion,
			Namespace: "argo",
			// Workflows run apart from Argo: nothing the platform runs on
			// (the database's admin Secret, the controller's and server's
			// accounts) is in reach of a workflow.
			WorkflowNamespace: "workflows",
			// Twice the seed's 10 running workflows: a developer's test runs
			// beside the daily batch. Namespace install: one namespace, so
			// its cap equals the global one.
			Parallelism:          20,
			NamespaceParallelism: 20,
			// Pod creation at 10/s. Argo creates a workflow's pods only when
			// it looks at the workflow again, every RequeueSeconds, and
			// then at most PodBurst of them: the seed's burst of 1 with
			// Argo's 10 s requeue made 10/s about 0.3/s (make bench). A
			// burst of 30 covers 10/s over a 2 s requeue with room for the
			// controller's own time, so the limit is the rate reached.
			PodsPerSecond:  10,
			PodBurst:       30,
			RequeueSeconds: 2,
			// 8 workers and Argo's default API rate (qps 20, burst 30) are
			// plenty for 20 workflows; the controller stays at 250m CPU.
			WorkflowWorkers: 8,
			APIQPS:          20,
			APIBurst:        30,
			ServerReplicas:  1,
			// Archived runs are kept a week; finished Workflow objects leave
			// etcd after a day (they stay in the archive), so the controller's
			// informers do not grow with history.
			ArchiveTTLDays:   7,
			WorkflowTTLHours: 24,
			// Steps on Autopilot Spot Pods (about 70% cheaper), retried by
			// the workflow default if a node is preempted.
			SpotSteps: true,
		},
	}
	switch env {
	case Staging:
		s.Database.Backups = true
		s.Database.DeletionProtection = true
		s.Cluster.DeletionProtection = true
		s.Logs = Logs{RetentionDays: 30}
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
		s.Logs = Logs{RetentionDays: 90}
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
		// Spot is opt-in per workflow: a preempted step delays the daily
		// batch, which production jobs may not afford.
		s.Argo.SpotSteps = false
	}
	return s
}
