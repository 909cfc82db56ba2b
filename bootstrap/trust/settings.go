// Package trust is the bootstrap program: what GitHub Actions may do to
// each environment, as code. Per environment it creates the Pulumi state
// bucket, the KMS key that encrypts the stack's secrets, a deployer and a
// previewer service account, a pull-request previewer but for production
// (Roles), and one Workload Identity pool per account whose provider admits
// only the GitHub tokens that account is for. Each environment's bucket and
// key are reachable only by that environment's accounts.
//
// Who may act as which account is Settings.Clauses; docs/bootstrap.md has
// the table.
package trust

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/stacks"

	"github.com/argo-platform/argo-platform/infra/gcp/google"
)

// Config keys the bootstrap program reads.
const (
	KeyProject  = "gcp:project"
	KeySettings = "argo-platform-bootstrap:settings"
)

// Settings are the bootstrap stack's settings.
type Settings struct {
	// Project is the admin project (`gcp:project`) that holds the state
	// buckets, the keys, the pools and the accounts. Not an environment's.
	Project string `json:"-"`
	// Location of the buckets and keys, e.g. asia-northeast1.
	Location string `json:"location"`
	// Repository is the GitHub repository, owner/name.
	Repository string `json:"repository"`
	// RepositoryID is its numeric id (GitHub's, immutable): a repository
	// deleted and recreated under the same name is another one.
	RepositoryID string `json:"repositoryId"`
	// Environments are experimental, staging and production, each with its
	// own GCP project.
	Environments map[string]Environment `json:"environments"`
}

// Environment is one environment's GCP project.
type Environment struct {
	// Project is the environment's GCP project id (its stack's gcp:project).
	Project string `json:"project"`
}

var (
	locationRe = regexp.MustCompile(`^[a-z]+(-[a-z]+[0-9]+)?$`)
	repoRe     = regexp.MustCompile(`^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$`)
	idRe       = regexp.MustCompile(`^[0-9]{1,20}$`)
)

// Parse decodes the settings strictly and validates them, every problem at
// once, each naming its key and what is accepted.
func Parse(project, settings string) (*Settings, error) {
	var problems []string
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	s := &Settings{Project: project}
	if !google.ProjectID.MatchString(project) {
		add("%s: %q; accepted: a GCP project id (6-30 lowercase letters, digits, hyphens): the admin project", KeyProject, project)
	}
	if strings.TrimSpace(settings) == "" {
		add("%s: missing; set location, repository, repositoryId and environments (docs/bootstrap.md)", KeySettings)
	} else {
		dec := json.NewDecoder(bytes.NewReader([]byte(settings)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(s); err != nil {
			add("%s: %v; accepted keys: location, repository, repositoryId, environments.<env>.project, environments.<env>.dns", KeySettings, err)
		}
	}
	key := func(k string) string { return KeySettings + "." + k }
	if len(problems) == 0 {
		if !locationRe.MatchString(s.Location) {
			add("%s: %q; accepted: a GCP region or multi-region, e.g. asia-northeast1", key("location"), s.Location)
		}
		if !repoRe.MatchString(s.Repository) {
			add("%s: %q; accepted: owner/name of the GitHub repository", key("repository"), s.Repository)
		}
		if !idRe.MatchString(s.RepositoryID) {
			add("%s: %q; accepted: the repository's numeric id (gh api repos/OWNER/NAME --jq .id), as a string", key("repositoryId"), s.RepositoryID)
		}
		for name := range s.Environments {
			if !slices.Contains(stacks.Environments, name) {
				add("%s: unknown environment %q; accepted: %s", key("environments"), name, strings.Join(stacks.Environments, ", "))
			}
		}
		seen := map[string]string{}
		for _, name := range stacks.Environments {
			e, ok := s.Environments[name]
			switch {
			case !ok:
				add("%s: missing; every environment needs its own project", key("environments."+name))
			case !google.ProjectID.MatchString(e.Project):
				add("%s: %q; accepted: a GCP project id", key("environments."+name+".project"), e.Project)
			case e.Project == project:
				add("%s: %q is the admin project; each environment needs a project of its own", key("environments."+name+".project"), e.Project)
			case seen[e.Project] != "":
				add("%s: %q is also environments.%s.project; each environment needs a project of its own", key("environments."+name+".project"), e.Project, seen[e.Project])
			default:
				seen[e.Project] = name
			}
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("the bootstrap stack's settings have %d problem(s):\n  - %s", len(problems), strings.Join(problems, "\n  - "))
	}
	return s, nil
}

// Load reads and validates the settings from the stack's configuration.
func Load(ctx *pulumi.Context) (*Settings, error) {
	project, _ := ctx.GetConfig(KeyProject)
	settings, _ := ctx.GetConfig(KeySettings)
	return Parse(project, settings)
}
