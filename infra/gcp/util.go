package gcp

import (
	"strings"
)

// roleSuffix turns roles/cloudsql.instanceUser into cloudsql-instanceuser,
// for resource names.
func roleSuffix(role string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(role, "roles/"), ".", "-"))
}
