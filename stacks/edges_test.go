package stacks

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withValue is a valid input for env with one settings key (dotted) set.
func withValue(t *testing.T, env, key string, value any) Input {
	t.Helper()
	return setValue(t, valid(env), key, value)
}

// absent, as setValue's value, removes the key.
var absent = &struct{}{}

// setValue is in with one settings key (dotted) set (or, with absent,
// removed).
func setValue(t *testing.T, in Input, key string, value any) Input {
	t.Helper()
	var s map[string]any
	require.NoError(t, json.Unmarshal([]byte(in.Settings), &s))
	m := s
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	if value == absent {
		delete(m, parts[len(parts)-1])
	} else {
		m[parts[len(parts)-1]] = value
	}
	b, err := json.Marshal(s)
	require.NoError(t, err)
	in.Settings = string(b)
	return in
}

// withValues is withValue with the keys of also set first.
func withValues(t *testing.T, env string, also map[string]any, key string, value any) Input {
	t.Helper()
	in := valid(env)
	for k, v := range also {
		in = setValue(t, in, k, v)
	}
	return setValue(t, in, key, value)
}

// Every documented edge is accepted, and the first value past it is refused
// naming the key.
func TestDocumentedEdgesAreAcceptedAndOneBeyondRefused(t *testing.T) {
	for _, tc := range []struct {
		env, key string
		ok, bad  []any
	}{
		{Staging, "database.diskSizeGB", []any{10, 65536}, []any{9, 65537}},
		{Experimental, "database.backupRetentionCount", []any{1, 365}, []any{0, 366}},
		{Staging, "database.logRetentionDays", []any{1, 7}, []any{0, 8}},
		{Staging, "database.maintenanceDay", []any{1, 7}, []any{0, 8}},
		{Staging, "database.maintenanceHour", []any{0, 23}, []any{-1, 24}},
		{Staging, "database.version", []any{"POSTGRES_15", "POSTGRES_18"}, []any{"POSTGRES_14", "POSTGRES_19"}},
		{Staging, "database.tier", []any{"db-custom-1-3840", "db-custom-96-638976", "db-f1-micro"}, []any{"db-custom-98-638976", "db-custom-1-3584"}},
		{Production, "database.tier", []any{"db-custom-2-7680"}, []any{"db-g1-small"}},
		{Experimental, "logs.retentionDays", []any{1, 3650}, []any{0, 3651}},
		{Experimental, "logs.softDeleteDays", []any{0, 7, 90}, []any{1, 6, 91, -1}},
		{Production, "logs.softDeleteDays", []any{7, 90}, []any{6, 0}},
		{Staging, "logs.softDeleteDays", []any{7}, []any{0}},
		{Staging, "cluster.maintenanceStartUTC", []any{"00:00", "23:59"}, []any{"24:00", "7:00"}},
		{Staging, "network.controlPlaneCIDR", []any{"172.16.0.0/28"}, []any{"172.16.0.0/27", "172.16.0.0/29"}},
		{Staging, "network.privateServicesCIDR", []any{"10.40.0.0/24", "10.40.0.0/16"}, []any{"10.40.0.0/25"}},
		{Staging, "argo.parallelism", []any{20, 10000}, []any{0, 10001}},
		{Staging, "argo.workflowWorkers", []any{1, 256}, []any{0, 257}},
		{Staging, "network.subnetCIDR", []any{"10.10.0.0/20", "172.16.16.0/29", "192.168.0.0/16"}, []any{"8.8.8.0/20", "10.10.0.0/30", "10.10.0.1/20", "10.20.0.0/20"}},
		{Staging, "cluster.releaseChannel", []any{"RAPID", "REGULAR", "STABLE"}, []any{"regular", "EXTENDED", ""}},
		{Staging, "dns.managedZone", []any{"acme-data-dev", "z"}, []any{"Acme_Zone", "acme.dev", strings.Repeat("z", 64)}},
		{Experimental, "database.pointInTimeRecovery", []any{false}, []any{true}},
		{Production, "cluster.deletionProtection", []any{true}, []any{false}},
		{Production, "database.backups", []any{true}, []any{false}},
		{Production, "database.highAvailability", []any{true}, []any{false}},
		{Production, "database.pointInTimeRecovery", []any{true}, []any{false}},
		{Production, "database.deletionProtection", []any{true}, []any{false}},
		{Production, "protect", []any{true}, []any{false}},
		{Staging, "cluster.authorizedNetworks", []any{[]any{map[string]any{"name": "a", "cidr": "34.84.10.0/24"}, map[string]any{"name": "b", "cidr": "34.84.11.0/24"}}},
			[]any{[]any{map[string]any{"name": "a", "cidr": "34.84.10.0/24"}, map[string]any{"name": "a", "cidr": "34.84.11.0/24"}}}},
		{Staging, "iap.members", []any{[]any{"user:a.b@acme-data.dev"}, []any{"group:data-team@eu.acme-data.dev"}},
			[]any{[]any{"user:a..b@acme-data.dev"}, []any{"user:a@acme..dev"}, []any{"user:.a@acme-data.dev"}, []any{"user:a@-acme.dev"}}},
		{Staging, "cluster.authorizedNetworks", []any{[]any{map[string]any{"name": "office", "cidr": "34.84.10.0/24"}}},
			[]any{[]any{map[string]any{"name": " ", "cidr": "34.84.10.0/24"}}}},
		{Staging, "alerts.emails", []any{[]any{}, []any{"a@b.co"}, []any{"x@acme-data.dev", "y@acme-data.dev"}},
			[]any{[]any{"oncall"}, []any{"a@acme-data.dev", "A@acme-data.dev"}, []any{"oncall@example.com"}, []any{strings.Repeat("a", 250) + "@b.co"}}},
		{Production, "alerts.emails", []any{[]any{"a@b.co"}}, []any{[]any{}}},
		{Staging, "argo.apiBurst", []any{1, 1000}, []any{0, 1001}},
		{Staging, "argo.serverReplicas", []any{1, 10}, []any{0, 11}},
		{Production, "argo.serverReplicas", []any{2, 10}, []any{1}},
		// Retention floors: production's and staging's (stacks.Floors).
		{Production, "argo.archiveTTLDays", []any{90}, []any{89, 1}},
		{Production, "logs.retentionDays", []any{30, 3650}, []any{29, 1}},
		{Production, "database.backupRetentionCount", []any{14, 365}, []any{13, 1}},
		{Production, "database.logRetentionDays", []any{7}, []any{6, 1}},
		{Staging, "database.backupRetentionCount", []any{7, 365}, []any{6}},
		{Staging, "logs.retentionDays", []any{7}, []any{6}},
		{Staging, "argo.archiveTTLDays", []any{7}, []any{6}},
		{Experimental, "database.backupRetentionCount", []any{1}, []any{0}},
		{Experimental, "argo.archiveTTLDays", []any{1}, []any{0}},
		{Staging, "argo.workflowTTLHours", []any{1, 720}, []any{0, 721}},
		{Staging, "argo.apiQPS", []any{0.5, 1000}, []any{0, 1001}},
		{Staging, "argo.version", []any{"v4.0.7", "v4.1.2"}, []any{"v4.0.5", "v4.0.6", "v4.1.3", "4.1.2"}},
		{Staging, "argo.namespace", []any{"argo", strings.Repeat("a", 63), "kubeflow", "gkeep"}, []any{"default", strings.Repeat("a", 64), "kube-argo", "gke-argo", "gmp-system"}},
		{Staging, "argo.workflowNamespace", []any{"workflows", "gmpx"}, []any{"default", "kube-workflows", "gmp-system", "gke-gmp-system", "argo"}},
		{Staging, "identities", []any{
			[]any{identity("bq-loader", nil)},
			// The base every refused identity below edits: each is refused
			// for its one edit.
			[]any{identity("ld", nil)},
			[]any{identity(strings.Repeat("n", 22), nil)}, // staging: 22 + "-staging" = 30
			[]any{identity("a", func(m map[string]any) { m["name"] = "ab" }), identity("cd", nil)},
			// 100 characters, not bytes (300 bytes in UTF-8).
			[]any{identity("xy", func(m map[string]any) { m["description"] = strings.Repeat("日", 100) })},
			[]any{identity("bucket-loader", nil), identity("dataset", nil)},
			// Every family's roles, where the family says.
			[]any{identity("xy", func(m map[string]any) {
				m["projectRoles"] = []any{"roles/bigquery.jobUser", "roles/bigquery.readSessionUser", "roles/bigquery.dataViewer", "roles/pubsub.publisher", "roles/pubsub.subscriber", "roles/pubsub.viewer"}
				m["datasets"] = []any{map[string]any{"dataset": "analytics", "role": "roles/bigquery.metadataViewer"}}
				m["buckets"] = []any{map[string]any{"bucket": "acme-exports", "role": "roles/storage.objectUser"}, map[string]any{"bucket": "acme-exports", "role": "roles/storage.objectCreator"}}
				m["secrets"] = []any{map[string]any{"secret": "exports_API-token", "role": "roles/secretmanager.secretAccessor"}, map[string]any{"secret": strings.Repeat("s", 255), "role": "roles/secretmanager.secretAccessor"}}
			})},
			// Secrets alone are a grant.
			[]any{identity("xy", func(m map[string]any) {
				delete(m, "projectRoles")
				delete(m, "datasets")
				delete(m, "buckets")
				m["secrets"] = []any{map[string]any{"secret": "token", "role": "roles/secretmanager.secretAccessor"}}
			})},
			[]any{identity("xy", func(m map[string]any) {
				m["buckets"] = []any{
					map[string]any{"bucket": strings.Repeat("b", 63), "role": "roles/storage.objectViewer"},
					map[string]any{"bucket": "exports.acme-data.dev", "role": "roles/storage.objectViewer"},
					map[string]any{"bucket": "a_b-c", "role": "roles/storage.objectViewer"},
				}
			})},
		}, []any{
			[]any{identity("ld", func(m map[string]any) { m["description"] = strings.Repeat("日", 101) })},
			// Their grants would share a resource name:
			// identity-wf-ab-bucket-cd-bucket-efg-storage-objectviewer.
			[]any{
				identity("ab", func(m map[string]any) {
					m["buckets"] = []any{map[string]any{"bucket": "cd-bucket-efg", "role": "roles/storage.objectViewer"}}
				}),
				identity("ab-bucket-cd", func(m map[string]any) {
					m["buckets"] = []any{map[string]any{"bucket": "efg", "role": "roles/storage.objectViewer"}}
				}),
			},
			[]any{identity("ab-dataset-cd", nil)},
			// GCS's naming rules.
			withBucket(strings.Repeat("b", 64)),
			withBucket("goog-exports"),
			withBucket("my-google-data"),
			withBucket("192.168.5.4"),
			withBucket("a." + strings.Repeat("b", 64)),
			[]any{identity("ld", func(m map[string]any) { m["projectRoles"] = []any{"roles/editor"} })},
			[]any{identity("ld", func(m map[string]any) { m["projectRoles"] = []any{"roles/owner"} })},
			[]any{identity("ld", func(m map[string]any) { m["projectRoles"] = []any{"roles/iam.serviceAccountUser"} })},
			[]any{identity("ld", func(m map[string]any) { m["projectRoles"] = []any{"roles/iam.serviceAccountTokenCreator"} })},
			[]any{identity("ld", func(m map[string]any) { m["projectRoles"] = []any{"roles/iam.workloadIdentityUser"} })},
			[]any{identity("ld", func(m map[string]any) { m["projectRoles"] = []any{"roles/resourcemanager.projectIamAdmin"} })},
			[]any{identity("ld", func(m map[string]any) { m["projectRoles"] = []any{"roles/storage.admin"} })},
			// Any storage role on the project reaches the log bucket, and
			// every pipeline's logs with it; so does a grant on the whole
			// log bucket (staging's here).
			[]any{identity("ld", func(m map[string]any) { m["projectRoles"] = []any{"roles/storage.objectViewer"} })},
			withBucket("acme-data-sta-argo-logs-staging"),
			[]any{identity("ld", func(m map[string]any) { m["projectRoles"] = []any{"roles/bigquery.admin"} })},
			// The cluster, deployments and logging's configuration are no
			// data role (#25).
			[]any{identity("ld", func(m map[string]any) { m["projectRoles"] = []any{"roles/container.developer"} })},
			[]any{identity("ld", func(m map[string]any) { m["projectRoles"] = []any{"roles/deploymentmanager.editor"} })},
			[]any{identity("ld", func(m map[string]any) { m["projectRoles"] = []any{"roles/logging.configWriter"} })},
			[]any{identity("ld", func(m map[string]any) { m["projectRoles"] = []any{"roles/bigquery.dataOwner"} })},
			// A secret's accessor on the project reads every secret there.
			[]any{identity("ld", func(m map[string]any) { m["projectRoles"] = []any{"roles/secretmanager.secretAccessor"} })},
			withSecret("token", "roles/secretmanager.admin"),
			withSecret("token", "roles/storage.objectViewer"),
			withSecret("projects/acme/secrets/token", "roles/secretmanager.secretAccessor"),
			withSecret(strings.Repeat("s", 256), "roles/secretmanager.secretAccessor"),
			withSecret("", "roles/secretmanager.secretAccessor"),
			[]any{identity("ld", func(m map[string]any) {
				m["secrets"] = []any{map[string]any{"secret": "t", "role": "roles/secretmanager.secretAccessor"}, map[string]any{"secret": "t", "role": "roles/secretmanager.secretAccessor"}}
			})},
			[]any{identity("ab-secret-cd", nil)},
			[]any{identity("ld", func(m map[string]any) {
				m["datasets"] = []any{map[string]any{"dataset": "analytics", "role": "roles/bigquery.jobUser"}}
			})},
			[]any{identity("ld", func(m map[string]any) { m["projectRoles"] = []any{"roles/container.serviceAgent"} })},
			[]any{identity("ld", func(m map[string]any) { m["projectRoles"] = []any{"projects/acme/roles/custom"} })},
			[]any{identity("ld", func(m map[string]any) { m["projectRoles"] = []any{"roles/bigquery.jobUser", "roles/bigquery.jobUser"} })},
			[]any{identity("ld", func(m map[string]any) {
				m["datasets"] = []any{map[string]any{"dataset": "analytics", "role": "roles/storage.objectViewer"}}
			})},
			[]any{identity("ld", func(m map[string]any) {
				m["datasets"] = []any{map[string]any{"dataset": "bad-name", "role": "roles/bigquery.dataViewer"}}
			})},
			[]any{identity("ld", func(m map[string]any) {
				m["buckets"] = []any{map[string]any{"bucket": "acme", "role": "roles/bigquery.dataViewer"}}
			})},
			withBucket("Acme"),
			[]any{identity("ld", func(m map[string]any) { m["name"] = "argo-x" })},
			[]any{identity("ld", func(m map[string]any) { m["name"] = strings.Repeat("n", 23) })},
			[]any{identity("ld", func(m map[string]any) { m["name"] = "Loader" })},
			[]any{identity("ld", func(m map[string]any) { m["description"] = "" })},
			[]any{identity("ld", func(m map[string]any) { delete(m, "projectRoles"); delete(m, "datasets"); delete(m, "buckets") })},
			[]any{identity("dup", nil), identity("dup", nil)},
		}},
		{Staging, "argo.workflowNamespace", []any{"workflows", strings.Repeat("w", 63)}, []any{"argo", "kube-system", strings.Repeat("w", 64), "Workflows"}},
		{Staging, "argo.workflowSecrets", []any{[]any{}, []any{"bq-key", "api.token"}, []any{strings.Repeat("s", 253)}}, []any{[]any{"Key"}, []any{"a", "a"}, []any{strings.Repeat("s", 254)}, []any{""}, []any{"argo-executor.service-account-token"}}},
		{Staging, "domain", []any{strings.Repeat("a", 48) + ".acme-data.dev"}, []any{strings.Repeat("a", 50) + ".acme-data.dev"}},
	} {
		checkEdges(t, tc.env, tc.key, tc.ok, tc.bad, nil)
	}
}

func TestThePasswordEdge(t *testing.T) {
	in := valid(Staging)
	in.DatabaseAdminPassword = strings.Repeat("x", 16)
	_, err := Parse(in)
	assert.NoError(t, err, "16 characters are accepted")
	in.DatabaseAdminPassword = strings.Repeat("x", 15)
	_, err = Parse(in)
	require.Error(t, err)
	assert.Contains(t, err.Error(), KeyDatabaseAdminPassword)
}

// identity is a valid workflow identity named name, then edited by edit.
func identity(name string, edit func(map[string]any)) map[string]any {
	m := map[string]any{
		"name":         name,
		"description":  "Loads the daily exports into BigQuery",
		"projectRoles": []any{"roles/bigquery.jobUser"},
		"datasets":     []any{map[string]any{"dataset": "analytics", "role": "roles/bigquery.dataEditor"}},
		"buckets":      []any{map[string]any{"bucket": "acme-exports", "role": "roles/storage.objectViewer"}},
	}
	if edit != nil {
		edit(m)
	}
	return m
}

// dependentEdge is an edge of key that holds with the keys of also set.
type dependentEdge struct {
	env, key string
	ok, bad  []any
	also     map[string]any
}

// The rate-limit edges depend on each other: podBurst must cover
// podsPerSecond over requeueSeconds, so each edge is tried with the others
// set where it holds (also), and the product itself is an edge.
func TestRateLimitEdgesAreAcceptedAndOneBeyondRefused(t *testing.T) {
	for _, tc := range []dependentEdge{
		{Staging, "argo.podBurst", []any{1, 1000}, []any{0, 1001}, map[string]any{"argo.podsPerSecond": 0.5}},
		// podBurst covers podsPerSecond over requeueSeconds (10/s × 2 s).
		{Staging, "argo.podBurst", []any{20}, []any{19}, nil},
		{Staging, "argo.requeueSeconds", []any{1, 60}, []any{0, 61}, map[string]any{"argo.podsPerSecond": 1, "argo.podBurst": 60}},
		{Staging, "argo.podsPerSecond", []any{0.1, 1000}, []any{0, 1000.5}, map[string]any{"argo.podBurst": 1000, "argo.requeueSeconds": 1}},
		{Staging, "argo.podsPerSecond", []any{15}, []any{15.5}, nil},
	} {
		checkEdges(t, tc.env, tc.key, tc.ok, tc.bad, tc.also)
	}
}

// The archive's size is archiveTTLDays × archivedRunsPerDay, which
// argo-server is sized for up to argoproj.MaxServerMemoryMiB: each edge is
// tried with the other set where the product holds, and the product
// itself is an edge (production's 180 days: 3,655 a day is the most).
func TestArchiveSizeEdgesAreAcceptedAndOneBeyondRefused(t *testing.T) {
	for _, tc := range []dependentEdge{
		{Production, "argo.archiveTTLDays", []any{90, 3650}, []any{89, 3651}, map[string]any{"argo.archivedRunsPerDay": 100}},
		{Experimental, "argo.archiveTTLDays", []any{1, 3650}, []any{0, 3651}, map[string]any{"argo.archivedRunsPerDay": 100}},
		{Experimental, "argo.archivedRunsPerDay", []any{1, 100000}, []any{0, 100001}, map[string]any{"argo.archiveTTLDays": 1}},
		{Production, "argo.archivedRunsPerDay", []any{1, 3655}, []any{0, 3656}, nil},
		{Production, "argo.archiveTTLDays", []any{180}, []any{181}, map[string]any{"argo.archivedRunsPerDay": 3655}},
	} {
		checkEdges(t, tc.env, tc.key, tc.ok, tc.bad, tc.also)
	}
}

// checkEdges parses env's valid input with key set to each value (and the
// keys of also set first): ok values are accepted, bad ones refused by a
// problem naming key.
func checkEdges(t *testing.T, env, key string, ok, bad []any, also map[string]any) {
	t.Helper()
	for _, v := range ok {
		_, err := Parse(withValues(t, env, also, key, v))
		assert.NoError(t, err, "%s %s = %v (with %v) is documented as accepted", env, key, v, also)
	}
	for _, v := range bad {
		_, err := Parse(withValues(t, env, also, key, v))
		if assert.Error(t, err, "%s %s = %v (with %v)", env, key, v, also) {
			assert.Contains(t, err.Error(), fmt.Sprintf("%s.%s", KeySettings, key), "the refusal names the key")
		}
	}
}

// withSecret is the identity list of one identity granted role on secret.
func withSecret(secret, role string) []any {
	return []any{identity("ld", func(m map[string]any) {
		m["secrets"] = []any{map[string]any{"secret": secret, "role": role}}
	})}
}

// withBucket is the identity list of one identity granted objectViewer on
// bucket.
func withBucket(bucket string) []any {
	return []any{identity("ld", func(m map[string]any) {
		m["buckets"] = []any{map[string]any{"bucket": bucket, "role": "roles/storage.objectViewer"}}
	})}
}
