package stacks

// DefaultArgoVersion is the Argo Workflows release installed unless a stack
// pins another.
const DefaultArgoVersion = "v4.1.2"

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
			Version:              DefaultArgoVersion,
			Namespace:            "argo",
			Parallelism:          20,
			NamespaceParallelism: 20,
			PodsPerSecond:        10,
			PodBurst:             20,
			WorkflowWorkers:      8,
			APIQPS:               20,
			APIBurst:             30,
			ServerReplicas:       1,
			ArchiveTTLDays:       7,
			WorkflowTTLHours:     24,
			SpotSteps:            true,
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
		s.Argo.Parallelism = 200
		s.Argo.NamespaceParallelism = 200
		s.Argo.PodsPerSecond = 20
		s.Argo.PodBurst = 50
		s.Argo.WorkflowWorkers = 32
		s.Argo.APIQPS = 50
		s.Argo.APIBurst = 100
		s.Argo.ServerReplicas = 2
		s.Argo.ArchiveTTLDays = 180
		s.Argo.WorkflowTTLHours = 72
		s.Argo.SpotSteps = false
	}
	return s
}
