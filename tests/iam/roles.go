package iam

// RolePermissions are the permissions of each predefined role the stacks
// grant, as Google's IAM roles and permissions reference lists them
// (cloud.google.com/iam/docs/roles-permissions/<service>, read December
// 2026). Permissions that only let a console list projects
// (resourcemanager.projects.get and .list, which several roles carry) are
// left out: no request here asks for them. A role not listed here makes
// Policy.Allows fail, so a stack that grants a new role gets its
// permissions written down before the matrix passes.
var RolePermissions = map[string][]string{
	// Cloud Storage (roles-permissions/storage).
	"roles/storage.objectViewer": {
		"storage.folders.get", "storage.folders.list",
		"storage.managedFolders.get", "storage.managedFolders.list",
		"storage.objects.get", "storage.objects.list",
	},
	"roles/storage.objectUser": {
		"storage.folders.create", "storage.folders.delete", "storage.folders.get", "storage.folders.list", "storage.folders.rename",
		"storage.managedFolders.create", "storage.managedFolders.delete", "storage.managedFolders.get", "storage.managedFolders.list",
		"storage.multipartUploads.abort", "storage.multipartUploads.create", "storage.multipartUploads.list", "storage.multipartUploads.listParts",
		"storage.objects.create", "storage.objects.delete", "storage.objects.get", "storage.objects.list", "storage.objects.restore", "storage.objects.update",
	},
	// Cloud SQL (roles-permissions/cloudsql).
	"roles/cloudsql.client":       {"cloudsql.instances.connect", "cloudsql.instances.get"},
	"roles/cloudsql.instanceUser": {"cloudsql.instances.get", "cloudsql.instances.login"},
	// IAM (roles-permissions/iam): what a Workload Identity member holds on
	// the Google service account it may act as.
	"roles/iam.workloadIdentityUser": {
		"iam.serviceAccounts.get", "iam.serviceAccounts.getAccessToken", "iam.serviceAccounts.getOpenIdToken", "iam.serviceAccounts.list",
	},
	// GKE (roles-permissions/container): the nodes' own account.
	"roles/container.defaultNodeServiceAccount": {
		"autoscaling.sites.writeMetrics", "logging.logEntries.create", "logging.logEntries.route",
		"monitoring.metricDescriptors.create", "monitoring.metricDescriptors.list",
		"monitoring.timeSeries.create", "monitoring.timeSeries.list",
	},
	// IAP (roles-permissions/iap): a person who may open the UI.
	"roles/iap.httpsResourceAccessor": {"iap.webServiceVersions.accessViaIAP"},
	// BigQuery (roles-permissions/bigquery): the example workflow identity's
	// grants.
	"roles/bigquery.jobUser": {"bigquery.config.get", "bigquery.jobs.create"},
	"roles/bigquery.dataEditor": {
		"bigquery.datasets.get", "bigquery.datasets.getIamPolicy", "bigquery.datasets.updateTag",
		"bigquery.models.create", "bigquery.models.delete", "bigquery.models.export", "bigquery.models.getData",
		"bigquery.models.getMetadata", "bigquery.models.list", "bigquery.models.updateData", "bigquery.models.updateMetadata", "bigquery.models.updateTag",
		"bigquery.routines.create", "bigquery.routines.delete", "bigquery.routines.get", "bigquery.routines.list", "bigquery.routines.update", "bigquery.routines.updateTag",
		"bigquery.tables.create", "bigquery.tables.createIndex", "bigquery.tables.createSnapshot", "bigquery.tables.delete", "bigquery.tables.deleteIndex",
		"bigquery.tables.export", "bigquery.tables.get", "bigquery.tables.getData", "bigquery.tables.getIamPolicy", "bigquery.tables.list",
		"bigquery.tables.restoreSnapshot", "bigquery.tables.update", "bigquery.tables.updateData", "bigquery.tables.updateTag",
	},
}
