package google

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCheckTier(t *testing.T) {
	for _, tc := range []struct {
		tier string
		ok   bool
	}{
		{"db-custom-1-3840", true},
		{"db-custom-2-7680", true},
		{"db-custom-4-26624", true}, // 6.5 GiB per vCPU
		{"db-custom-4-26880", false},
		{"db-custom-3-7680", false}, // odd vCPU count above 1
		{"db-custom-2-3841", false}, // not a multiple of 256
		{"db-custom-1-1024", false}, // under 3840
		{"db-custom-98-400000", false},
		{"db-f1-micro", true},
		{"db-g1-small", true},
		{"db-n1-standard-1", false},
		{"", false},
	} {
		assert.Equal(t, tc.ok, CheckTier(tc.tier) == "", tc.tier)
	}
}

func TestCheckDomain(t *testing.T) {
	for _, tc := range []struct {
		domain string
		ok     bool
	}{
		{"argo.staging.acme-data.dev", true},
		{"argo.acme-data.dev", true},
		{"a-b.example.co", true},
		{"", false},
		{"localhost", false},
		{"https://argo.acme-data.dev", false},
		{"argo.acme-data.dev/ui", false},
		{"argo.acme-data.dev:443", false},
		{"argo.acme-data.dev.", false},
		{"Argo.acme-data.dev", false},
		{"-argo.acme-data.dev", false},
		{"argo..acme-data.dev", false},
		{strings.Repeat("a", 55) + ".acme-data.dev", false}, // over 63 characters
	} {
		assert.Equal(t, tc.ok, CheckDomain(tc.domain) == "", tc.domain)
	}
}

func TestCheckMember(t *testing.T) {
	for _, tc := range []struct {
		member string
		ok     bool
	}{
		{"user:alice@acme-data.dev", true},
		{"group:data@acme-data.dev", true},
		{"serviceAccount:ci@p.iam.gserviceaccount.com", true},
		{"domain:acme-data.dev", true},
		{"allUsers", false},
		{"allAuthenticatedUsers", false},
		{"alice@acme-data.dev", false},
		{"user:alice", false},
		{"domain:https://acme-data.dev", false},
	} {
		assert.Equal(t, tc.ok, CheckMember(tc.member) == "", tc.member)
	}
}

// Each family's roles are accepted in the grant lists the family names and
// refused in the others; every role outside the families is refused, and
// the refusal names the accepted families.
func TestOnlyDataRolesAreGrantedWhereTheirFamilySays(t *testing.T) {
	lists := []string{OnProject, OnDataset, OnBucket}
	for _, f := range RoleFamilies {
		for _, role := range f.Roles {
			for _, on := range lists {
				msg := CheckRole(role, on)
				if slices.Contains(f.On, on) {
					assert.Empty(t, msg, "%s under %s", role, on)
				} else {
					assert.Contains(t, msg, role+" belongs under", "%s under %s", role, on)
				}
			}
		}
	}
	for _, role := range []string{
		// The cluster, deployments and logging's configuration.
		"roles/container.developer", "roles/container.viewer", "roles/container.admin", "roles/container.serviceAgent",
		"roles/deploymentmanager.editor", "roles/logging.configWriter", "roles/logging.admin",
		// IAM and acting as another account.
		"roles/iam.serviceAccountUser", "roles/iam.serviceAccountTokenCreator", "roles/iam.workloadIdentityUser",
		"roles/resourcemanager.projectIamAdmin", "roles/iap.httpsResourceAccessor",
		// Basic roles, and data roles that also set IAM or own what they make.
		"roles/owner", "roles/editor", "roles/viewer",
		"roles/bigquery.admin", "roles/bigquery.dataOwner", "roles/bigquery.user",
		"roles/storage.admin", "roles/storage.objectAdmin", "roles/pubsub.editor", "roles/pubsub.admin",
		// The platform's own database is in the project.
		"roles/cloudsql.client",
		"projects/acme/roles/custom", "",
	} {
		for _, on := range lists {
			msg := CheckRole(role, on)
			assert.Contains(t, msg, AcceptedRoles(on), "%q under %s", role, on)
			for _, f := range RoleFamilies {
				if slices.Contains(f.On, on) {
					assert.Contains(t, msg, f.Name, "%q under %s names the family %s", role, on, f.Name)
				}
			}
		}
	}
}
