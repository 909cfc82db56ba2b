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
	DriftWorkflow   = ".github/workflows/drift.yml"
	PreviewWorkflow = ".github/workflows/preview.yml"
	MainRef         = "refs/heads/main"
)

// PreviewEnvironment is the GitHub environment main's previews of env run
// in (deploy.yml's production preview, drift.yml's daily check): main only,
// no reviewers. Deploys run in the environment named env; production's
// requires a reviewer.
func PreviewEnvironment(env string) string { return env + "-preview" }

// Role is what an account is for.
type Role string

// The roles per environment: a deployer, a previewer for code on main,
// and, but for production, a previewer for pull requests (Roles).
const (
	Deployer    Role = "deployer"
	Previewer   Role = "previewer"
	PullRequest Role = "pr-previewer"
)

// Roles are the accounts env gets: production's code is never previewed
// from a pull request, so it has no pull-request previewer.
func Roles(env string) []Role {
	if env == "production" {
		return []Role{Deployer, Previewer}
	}
	return []Role{Deployer, Previewer, PullRequest}
}

// quote writes s as a CEL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

// list writes a CEL list of string literals.
func list(items ...string) string {
	q := make([]string, len(items))
	for i, it := range items {
		q[i] = quote(it)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// ref is owner/name/<file>@<ref>, GitHub's workflow_ref and
// job_workflow_ref claims.
func (s *Settings) ref(file, ref string) string { return s.Repository + "/" + file + "@" + ref }

// protectedMain is the clause that main is protected when the token is
// minted: GitHub's ref_protected claim is "true" only while branch
// protection or a ruleset applies to the ref (docs/bootstrap.md sets them
// up: a pull request and the owners' review for every change, no bypass).
// Without it, anyone who may push to an unprotected main deploys.
const protectedMain = "assertion.ref_protected == 'true'"

// Clauses are the conditions a GitHub token must meet to act as env's role
// account, one CEL clause each, all required (Condition joins them with &&).
//
//   - deployer-<env>: deploy.yml calling up.yml, on a protected main, pushed
//     or dispatched, in GitHub environment <env>;
//   - previewer-<env>, from main: deploy.yml (calling up.yml) or drift.yml,
//     on main, pushed, dispatched or scheduled, in <env>-preview; for
//     production, a protected main only;
//   - pr-previewer-<env> (experimental and staging only): a pull request's
//     preview.yml into main, and nothing else. It is an account apart from
//     the previewer from main, so a pull request's code gets none of the
//     rights main's previews need.
func (s *Settings) Clauses(env string, role Role) []string {
	c := []string{
		"assertion.repository_id == " + quote(s.RepositoryID),
		"assertion.repository == " + quote(s.Repository),
	}
	if role == Deployer {
		return append(c,
			"assertion.ref == "+quote(MainRef),
			protectedMain,
			"assertion.event_name in ['push', 'workflow_dispatch']",
			"assertion.workflow_ref == "+quote(s.ref(DeployWorkflow, MainRef)),
			"assertion.job_workflow_ref == "+quote(s.ref(UpWorkflow, MainRef)),
			"assertion.environment == "+quote(env),
		)
	}
	if role == PullRequest {
		return append(c,
			"assertion.event_name == 'pull_request'",
			"assertion.base_ref == 'main'",
			fmt.Sprintf("assertion.workflow_ref.startsWith(%s)", quote(s.Repository+"/"+PreviewWorkflow+"@refs/pull/")),
		)
	}
	fromMain := []string{
		"assertion.ref == " + quote(MainRef),
		"assertion.event_name in ['push', 'workflow_dispatch', 'schedule']",
		"assertion.workflow_ref in " + list(s.ref(DeployWorkflow, MainRef), s.ref(DriftWorkflow, MainRef)),
		"assertion.job_workflow_ref in " + list(s.ref(UpWorkflow, MainRef), s.ref(DriftWorkflow, MainRef)),
		"assertion.environment == " + quote(PreviewEnvironment(env)),
	}
	if env == "production" {
		// Production's secrets and cluster stay out of reach of code
		// that is not on a protected main.
		return append(append(c, fromMain[0], protectedMain), fromMain[1:]...)
	}
	return append(c, fromMain...)
}

// Condition is the attribute condition of env's role pool's provider.
func (s *Settings) Condition(env string, role Role) string {
	return strings.Join(s.Clauses(env, role), " && ")
}
