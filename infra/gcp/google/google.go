// Package google is what infra/gcp's components take from a stack, and
// what Google Cloud decides, without the GCP SDK. Each component's section
// of the settings block is a struct here with its keys, docs, defaults and
// a Check of Google's rules about it (network.go, cluster.go, database.go,
// logs.go, edge.go, alerts.go, grants.go); stacks composes them. google.go
// holds what Google decides about names: the e-mail of a service account,
// the database user Cloud SQL makes of it, which project ids and bucket
// names exist, and the key Edge names each IAP grant with. infra/gcp builds
// resources with these; the settings' rules check a stack's values with the
// same functions before anything is created.
package google

import (
	"net/netip"
	"regexp"
	"strings"
)

// ServiceAccountEmail is the e-mail Google gives the user-managed service
// account id in project.
func ServiceAccountEmail(id, project string) string {
	return id + "@" + project + ".iam.gserviceaccount.com"
}

// DatabaseUser is the IAM database user Cloud SQL derives from a service
// account e-mail: the e-mail without ".gserviceaccount.com".
func DatabaseUser(email string) string {
	return strings.TrimSuffix(email, ".gserviceaccount.com")
}

// ProjectID matches a project id Google accepts: 6 to 30 lowercase
// letters, digits and hyphens, starting with a letter, not ending with a
// hyphen.
var ProjectID = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)

// IAPMemberKey is the part of the Pulumi resource name that grants IAP
// access to member m (infra/gcp's Edge names each grant with it; the
// settings refuse two members with one key).
func IAPMemberKey(m string) string { return memberNameRe.ReplaceAllString(m, "-") }

var memberNameRe = regexp.MustCompile(`[^a-z0-9-]+`)

// ValidBucketName follows GCS's naming rules for a bucket that exists
// (https://cloud.google.com/storage/docs/buckets#naming).
func ValidBucketName(b string) bool {
	if !bucketRe.MatchString(b) || strings.Contains(b, "..") || strings.HasPrefix(b, "goog") || strings.Contains(b, "google") {
		return false
	}
	if _, err := netip.ParseAddr(b); err == nil {
		return false
	}
	parts := strings.Split(b, ".")
	if len(parts) == 1 {
		return len(b) <= 63
	}
	for _, p := range parts {
		if p == "" || len(p) > 63 {
			return false
		}
	}
	return true
}

var bucketRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$`)

// RoleKey is role in resource names: roles/cloudsql.instanceUser becomes
// cloudsql-instanceuser.
func RoleKey(role string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(role, "roles/"), ".", "-"))
}
