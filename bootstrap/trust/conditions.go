package trust

import (
	"fmt"
	"strings"
)

// The workflow files and the branch the trust rests on. A pull request can
// edit any file, so no account that can change an environment trusts a
// token minted for a pull request or for a branch other than main.
const (
	DeployWorkflow  = ".github/workflows/deploy.yml"
	UpWorkflow      = ".github/workflows/up.yml"
	PreviewWorkflow = ".github/workflows/preview.yml"
	MainRef         = "refs/heads/main"
)

// ProductionPreview is the GitHub environment production's preview runs in
// (main only, no reviewers); production's `up` runs in "production", which
// requires a reviewer.
const ProductionPreview = "production-preview"

// Role is what an account is for.
type Role string

// The two roles per environment.
const (
	Deployer  Role = "deployer"
	Previewer Role = "previewer"
)

// quote writes s as a CEL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

// ref is owner/name/<file>@<ref>, GitHub's workflow_ref and
// job_workflow_ref claims.
func (s *Settings) ref(file, ref string) string { return s.Repository + "/" + file + "@" + ref }

// Clauses are the conditions a GitHub token must meet to act as env's role
// account, one CEL clause each, all required (Condition joins them with &&).
func (s *Settings) Clauses(env string, role Role) []string {
	c := []string{
		"assertion.repository_id == " + quote(s.RepositoryID),
		"assertion.repository == " + quote(s.Repository),
	}
	fromMain := func(environment string) []string {
		return []string{
			"assertion.ref == " + quote(MainRef),
			"assertion.event_name in ['push', 'workflow_dispatch']",
			"assertion.workflow_ref == " + quote(s.ref(DeployWorkflow, MainRef)),
			"assertion.job_workflow_ref == " + quote(s.ref(UpWorkflow, MainRef)),
			"assertion.environment == " + quote(environment),
		}
	}
	switch {
	case role == Deployer:
		return append(c, fromMain(env)...)
	case env == "production":
		// Never a pull request: production's secrets and cluster stay out
		// of reach of code that is not on main.
		return append(c, fromMain(ProductionPreview)...)
	default:
		return append(c,
			"assertion.event_name == 'pull_request'",
			"assertion.base_ref == 'main'",
			fmt.Sprintf("assertion.workflow_ref.startsWith(%s)", quote(s.Repository+"/"+PreviewWorkflow+"@refs/pull/")),
		)
	}
}

// Condition is the attribute condition of env's role pool's provider.
func (s *Settings) Condition(env string, role Role) string {
	return strings.Join(s.Clauses(env, role), " && ")
}
