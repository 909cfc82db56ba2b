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
	// Secrets are Secret Manager secrets of the stack's project, each with
	// the role granted on it.
	Secrets []SecretRole `json:"secrets"`
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

// SecretRole is a role on one Secret Manager secret.
type SecretRole struct {
	Secret string `json:"secret"`
	Role   string `json:"role"`
}

// Empty reports whether g grants nothing.
func (g Grants) Empty() bool {
	return len(g.ProjectRoles)+len(g.Datasets)+len(g.Buckets)+len(g.Secrets) == 0
}

var (
	datasetRe = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	// Secret Manager's secret ids.
	secretRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
)

// Where a workflow identity's role is granted: the grant lists of Grants.
const (
	OnProject = "projectRoles"
	OnDataset = "datasets"
	OnBucket  = "buckets"
	OnSecret  = "secrets"
)

// A RoleFamily is a group of predefined roles a pipeline may need on its
// data, where each may be granted, and why it is safe in a step's hands.
type RoleFamily struct {
	Name  string
	Roles []string
	// On are the grant lists it may appear in (OnProject, OnDataset,
	// OnBucket, OnSecret).
	On  []string
	Why string
}

// RoleFamilies are the only roles a workflow identity may hold: roles on
// data, none that reaches the cluster (roles/container.*), IAM, another
// account, deployments or logging's configuration. A role missing here is
// refused, naming these families; adding one is a change reviewed like
// code, with its why.
var RoleFamilies = []RoleFamily{
	{
		Name:  "BigQuery data",
		Roles: []string{"roles/bigquery.dataViewer", "roles/bigquery.dataEditor", "roles/bigquery.metadataViewer"},
		On:    []string{OnProject, OnDataset},
		Why:   "read or write tables; dataOwner and admin also set a dataset's IAM, and bigquery.user makes its user owner of the datasets it creates",
	},
	{
		Name:  "BigQuery jobs",
		Roles: []string{"roles/bigquery.jobUser", "roles/bigquery.readSessionUser"},
		On:    []string{OnProject},
		Why:   "run queries and loads, and read tables through the Storage Read API, billed to the stack's project; they reach only the data other grants allow",
	},
	{
		Name:  "Cloud Storage objects",
		Roles: []string{"roles/storage.objectViewer", "roles/storage.objectCreator", "roles/storage.objectUser"},
		On:    []string{OnBucket},
		Why:   "read or write one bucket's objects; on the project they would reach the log bucket and every pipeline's logs, and objectAdmin and admin also set IAM",
	},
	{
		Name:  "Pub/Sub messages",
		Roles: []string{"roles/pubsub.publisher", "roles/pubsub.subscriber", "roles/pubsub.viewer"},
		On:    []string{OnProject},
		Why:   "publish, consume and list messages; editor and admin also create and delete topics and set their IAM",
	},
	{
		Name:  "Secret Manager secrets",
		Roles: []string{"roles/secretmanager.secretAccessor"},
		On:    []string{OnSecret},
		Why:   "read one named secret's value; on the project it would read every secret there",
	},
}

// AcceptedRoles says which families, and their roles, may be granted in
// the grant list on.
func AcceptedRoles(on string) string {
	var parts []string
	for _, f := range RoleFamilies {
		if slices.Contains(f.On, on) {
			parts = append(parts, f.Name+" ("+strings.Join(f.Roles, ", ")+")")
		}
	}
	return "a data role of " + strings.Join(parts, "; ")
}

// CheckRole says why role may not be granted in the grant list on ("" when
// it may): it must be one of RoleFamilies' roles there.
func CheckRole(role, on string) string {
	for _, f := range RoleFamilies {
		if !slices.Contains(f.Roles, role) {
			continue
		}
		if slices.Contains(f.On, on) {
			return ""
		}
		return AcceptedRoles(on) + "; " + role + " belongs under " + strings.Join(f.On, " or ") + " (" + f.Why + ")"
	}
	return AcceptedRoles(on) + "; no role that reaches the cluster, IAM, another account, deployments or logging's configuration"
}

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
		if msg := CheckRole(role, OnProject); msg != "" {
			r.Add(path, role, msg)
		}
		dup(path, "project "+role)
	}
	for j, d := range g.Datasets {
		path := fmt.Sprintf("datasets[%d]", j)
		if !datasetRe.MatchString(d.Dataset) || len(d.Dataset) > 1024 {
			r.Add(path+".dataset", d.Dataset, "a BigQuery dataset id of the stack's project: letters, digits and underscores")
		}
		if msg := CheckRole(d.Role, OnDataset); msg != "" {
			r.Add(path+".role", d.Role, msg)
		}
		dup(path, "dataset "+d.Dataset+" "+d.Role)
	}
	for j, b := range g.Buckets {
		path := fmt.Sprintf("buckets[%d]", j)
		if !ValidBucketName(b.Bucket) {
			r.Add(path+".bucket", b.Bucket, "a GCS bucket name: 3 to 63 lowercase letters, digits, '-' and '_' (up to 222 with dots, 63 between dots), starting and ending with a letter or digit, not an IP address, not starting with goog or containing google")
		}
		if msg := CheckRole(b.Role, OnBucket); msg != "" {
			r.Add(path+".role", b.Role, msg)
		}
		if b.Bucket == logBucket {
			// Its folder of the log bucket is every identity's already;
			// a grant on the whole bucket reaches every pipeline's logs.
			r.Add(path+".bucket", b.Bucket, "a bucket other than the platform's log bucket "+logBucket+" (each identity already has its own folder there)")
		}
		dup(path, "bucket "+b.Bucket+" "+b.Role)
	}
	for j, s := range g.Secrets {
		path := fmt.Sprintf("secrets[%d]", j)
		if !secretRe.MatchString(s.Secret) {
			r.Add(path+".secret", s.Secret, "a Secret Manager secret id of the stack's project: 1 to 255 letters, digits, '-' and '_'")
		}
		if msg := CheckRole(s.Role, OnSecret); msg != "" {
			r.Add(path+".role", s.Role, msg)
		}
		dup(path, "secret "+s.Secret+" "+s.Role)
	}
}
