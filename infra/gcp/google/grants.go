package google

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/argo-platform/argo-platform/infra/setting"
)

// Grants are what one workflow identity may do on Google Cloud, and nothing
// more (infra/gcp's Identity grants them to the identity's account): the
// grant keys of an `identities[]` item.
type Grants struct {
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

// Empty reports whether g grants nothing.
func (g Grants) Empty() bool { return len(g.ProjectRoles)+len(g.Datasets)+len(g.Buckets) == 0 }

var (
	predefinedRoleRe = regexp.MustCompile(`^roles/([a-z][a-zA-Z0-9]*)\.([a-zA-Z][a-zA-Z0-9]*)$`)
	datasetRe        = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	basicRoles       = []string{"roles/owner", "roles/editor", "roles/viewer", "roles/browser"}
	// IAMServices are the services whose every role changes IAM or lets
	// one account act as another.
	IAMServices = []string{"iam", "resourcemanager", "iap", "accesscontextmanager", "orgpolicy"}
)

// Check notes a grant Google would refuse or a workflow identity may not
// hold, and one listed twice. logBucket is the platform's log bucket:
// every identity already has its own folder there, and a grant on the
// whole bucket, or a storage role on the project, would reach every
// pipeline's logs.
func (g Grants) Check(r *setting.Rules, logBucket string) {
	seen := map[string]bool{}
	dup := func(path, what string) {
		if seen[what] {
			r.Say(path, "%s is listed twice", what)
		}
		seen[what] = true
	}
	for j, role := range g.ProjectRoles {
		path := fmt.Sprintf("projectRoles[%d]", j)
		if msg := CheckRole(role, ""); msg != "" {
			r.Add(path, role, msg)
		} else if strings.HasPrefix(role, "roles/storage.") {
			// On the project, a storage role reaches every bucket there,
			// the log bucket and every pipeline's logs with it.
			r.Add(path, role, "a role of another service than storage: grant a bucket's role under buckets[] instead (a project-wide storage role reaches the log bucket)")
		}
		dup(path, "project "+role)
	}
	for j, d := range g.Datasets {
		path := fmt.Sprintf("datasets[%d]", j)
		if !datasetRe.MatchString(d.Dataset) || len(d.Dataset) > 1024 {
			r.Add(path+".dataset", d.Dataset, "a BigQuery dataset id of the stack's project: letters, digits and underscores")
		}
		if msg := CheckRole(d.Role, "bigquery"); msg != "" {
			r.Add(path+".role", d.Role, msg)
		}
		dup(path, "dataset "+d.Dataset+" "+d.Role)
	}
	for j, b := range g.Buckets {
		path := fmt.Sprintf("buckets[%d]", j)
		if !ValidBucketName(b.Bucket) {
			r.Add(path+".bucket", b.Bucket, "a GCS bucket name: 3 to 63 lowercase letters, digits, '-' and '_' (up to 222 with dots, 63 between dots), starting and ending with a letter or digit, not an IP address, not starting with goog or containing google")
		}
		if msg := CheckRole(b.Role, "storage"); msg != "" {
			r.Add(path+".role", b.Role, msg)
		}
		if b.Bucket == logBucket {
			// Its folder of the log bucket is every identity's already;
			// a grant on the whole bucket reaches every pipeline's logs.
			r.Add(path+".bucket", b.Bucket, "a bucket other than the platform's log bucket "+logBucket+" (each identity already has its own folder there)")
		}
		dup(path, "bucket "+b.Bucket+" "+b.Role)
	}
}

// CheckRole says why role may not be given to a workflow identity ("" when
// it may): predefined roles of the form roles/<service>.<name> only; no
// basic role; none of a service that governs IAM or acting as another
// account (IAMServices); no administrator role (an admin can grant others
// access to what it administers); no service agent role. service, when not
// "", is the only service whose roles are accepted.
func CheckRole(role, service string) string {
	if slices.Contains(basicRoles, role) {
		return "a predefined role, not a basic role (" + strings.Join(basicRoles, ", ") + ")"
	}
	m := predefinedRoleRe.FindStringSubmatch(role)
	if m == nil {
		return "a predefined role, roles/<service>.<role>"
	}
	lower := strings.ToLower(m[2])
	switch {
	case slices.Contains(IAMServices, m[1]):
		return "a role outside " + strings.Join(IAMServices, ", ") + ": those change IAM or act as another account"
	case strings.HasSuffix(lower, "admin") || strings.HasPrefix(lower, "admin"):
		return "a role that is not an administrator's: an admin can grant others access"
	case strings.HasSuffix(lower, "serviceagent"):
		return "a role that is not a service agent's"
	case service != "" && m[1] != service:
		return "a roles/" + service + ".* role"
	}
	return ""
}
