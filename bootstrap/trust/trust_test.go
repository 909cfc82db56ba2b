package trust

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/argo-platform/argo-platform/infra"
	"github.com/argo-platform/argo-platform/stacks"
	"github.com/argo-platform/argo-platform/tests"
)

const (
	admin  = "acme-argo-admin"
	repo   = "acme/argo-platform"
	repoID = "812345678"
)

func settingsJSON() string {
	return `{"location": "asia-northeast1", "repository": "` + repo + `", "repositoryId": "` + repoID + `",
	  "environments": {"experimental": {"project": "acme-argo-experimental"}, "staging": {"project": "acme-argo-staging"},
	  "production": {"project": "acme-argo-production"}}}`
}

func envProject(env string) string { return "acme-argo-" + env }

// run runs the bootstrap program under mocks as `pulumi up` would.
func run(t *testing.T) *tests.Recorder {
	t.Helper()
	rec, err := tests.Run(Deploy, "trust", map[string]string{KeyProject: admin, KeySettings: settingsJSON()}, false)
	require.NoError(t, err)
	return rec
}

func email(env string, role Role) string {
	return AccountID(env, role) + "@" + admin + ".iam.gserviceaccount.com"
}

// token is a GitHub Actions OIDC token's claims.
type token map[string]string

// with is t with claim k set to v ("" removes it).
func (t token) with(k, v string) token {
	out := maps.Clone(t)
	if v == "" {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

// admits evaluates a provider's attribute condition on tok with CEL, as
// Google's STS does; an evaluation error (a claim the token lacks) refuses.
func admits(t *testing.T, condition string, tok token) bool {
	t.Helper()
	env, err := cel.NewEnv(cel.Variable("assertion", cel.MapType(cel.StringType, cel.StringType)))
	require.NoError(t, err)
	ast, iss := env.Compile(condition)
	require.NoError(t, iss.Err(), "the condition compiles: %s", condition)
	require.Equal(t, cel.BoolType, ast.OutputType())
	prg, err := env.Program(ast)
	require.NoError(t, err)
	out, _, err := prg.Eval(map[string]any{"assertion": map[string]string(tok)})
	if err != nil {
		return false
	}
	return out.Value() == true
}

// deployToken is what deploy.yml's `up` job on main in GitHub environment
// environment presents.
func deployToken(environment string) token {
	return token{
		"sub": "repo:" + repo + ":environment:" + environment, "repository": repo, "repository_id": repoID,
		"ref": MainRef, "ref_protected": "true", "event_name": "push", "environment": environment,
		"workflow_ref":     repo + "/" + DeployWorkflow + "@" + MainRef,
		"job_workflow_ref": repo + "/" + UpWorkflow + "@" + MainRef,
	}
}

// prToken is what a same-repository pull request's preview job presents.
func prToken() token {
	return token{
		"sub": "repo:" + repo + ":pull_request", "repository": repo, "repository_id": repoID,
		"ref": "refs/pull/7/merge", "event_name": "pull_request", "base_ref": "main", "head_ref": "feature",
		"workflow_ref":     repo + "/" + PreviewWorkflow + "@refs/pull/7/merge",
		"job_workflow_ref": repo + "/" + PreviewWorkflow + "@refs/pull/7/merge",
	}
}

// providers are the registered attribute conditions by "<env>/<role>".
func providers(t *testing.T, rec *tests.Recorder) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range rec.OfType("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider") {
		env, role, _ := strings.Cut(p.Name, "-")
		out[env+"/"+role] = tests.Str(p.Inputs, "attributeCondition")
		assert.Equal(t, GitHubIssuer, tests.Str(p.Inputs, "oidc.issuerUri"))
	}
	require.Len(t, out, 8, "a deployer and a previewer per environment, and a pull-request previewer but for production")
	return out
}

// driftToken is what drift.yml's scheduled check of env presents.
func driftToken(env string) token {
	return token{
		"sub": "repo:" + repo + ":environment:" + PreviewEnvironment(env), "repository": repo, "repository_id": repoID,
		"ref": MainRef, "ref_protected": "true", "event_name": "schedule", "environment": PreviewEnvironment(env),
		"workflow_ref":     repo + "/" + DriftWorkflow + "@" + MainRef,
		"job_workflow_ref": repo + "/" + DriftWorkflow + "@" + MainRef,
	}
}

// fromMainVariations are legit changed in one claim each, every one a token
// no account of env may take from main.
func fromMainVariations(legit token) map[string]token {
	return map[string]token{
		"another repository id":            legit.with("repository_id", "99"),
		"another repository":               legit.with("repository", "evil/argo-platform"),
		"a branch other than main":         legit.with("ref", "refs/heads/feature"),
		"a pull request":                   legit.with("event_name", "pull_request").with("ref", "refs/pull/7/merge"),
		"a pull_request_target event":      legit.with("event_name", "pull_request_target"),
		"the workflow from another branch": legit.with("workflow_ref", strings.Replace(legit["workflow_ref"], MainRef, "refs/heads/feature", 1)),
		"another workflow file":            legit.with("workflow_ref", repo+"/"+PreviewWorkflow+"@"+MainRef),
		"another reusable workflow":        legit.with("job_workflow_ref", repo+"/.github/workflows/evil.yml@"+MainRef),
		"no GitHub environment":            legit.with("environment", ""),
		"another GitHub environment":       legit.with("environment", "staging-x"),
	}
}

// Each account admits exactly the tokens it is for. Every claim its
// condition checks is changed in turn, and each change must be refused: a
// clause dropped or loosened lets one of them in, and the test fails.
func TestEachAccountAdmitsOnlyTheTokensItIsFor(t *testing.T) {
	conditions := providers(t, run(t))
	for _, env := range stacks.Environments {
		type want struct {
			legit []token
			bad   map[string]token
		}
		deploy := want{legit: []token{deployToken(env)}, bad: fromMainVariations(deployToken(env))}
		deploy.bad["deploy.yml's preview job"] = deployToken(PreviewEnvironment(env))
		deploy.bad["drift.yml"] = driftToken(env).with("environment", env)
		deploy.bad["a scheduled run"] = deployToken(env).with("event_name", "schedule")
		// A main that anyone with write access may push to.
		deploy.bad["an unprotected main"] = deployToken(env).with("ref_protected", "false")
		deploy.bad["a token without ref_protected"] = deployToken(env).with("ref_protected", "")
		preview := want{legit: []token{deployToken(PreviewEnvironment(env)), driftToken(env)}, bad: fromMainVariations(deployToken(PreviewEnvironment(env)))}
		for what, tok := range fromMainVariations(driftToken(env)) {
			preview.bad["drift: "+what] = tok
		}
		preview.bad["the deploy environment"] = deployToken(env)
		// main's previewer never takes a pull request: those get an
		// account of their own, with no right in the cluster.
		preview.bad["a pull request's preview"] = prToken()
		wants := map[Role]want{Deployer: deploy, Previewer: preview}
		if env == "production" {
			preview.bad["an unprotected main"] = deployToken(PreviewEnvironment(env)).with("ref_protected", "false")
			preview.bad["drift on an unprotected main"] = driftToken(env).with("ref_protected", "false")
			preview.bad["a token without ref_protected"] = driftToken(env).with("ref_protected", "")
		} else {
			pr := prToken()
			wants[PullRequest] = want{legit: []token{pr}, bad: map[string]token{
				"a pull request from another repository id": pr.with("repository_id", "99"),
				"a pull request from another repository":    pr.with("repository", "evil/argo-platform"),
				"a pull request into another base":          pr.with("base_ref", "release"),
				"a pull request running another workflow":   pr.with("workflow_ref", repo+"/.github/workflows/evil.yml@refs/pull/7/merge"),
				"a pull request's workflow, pushed":         pr.with("event_name", "push"),
				"main's deploy":                             deployToken(env),
				"main's preview":                            deployToken(PreviewEnvironment(env)),
				"main's drift check":                        driftToken(env),
			}}
		}
		for _, other := range stacks.Environments {
			if other != env {
				deploy.bad["the "+other+" environment"] = deployToken(other)
				preview.bad["the "+other+"-preview environment"] = deployToken(PreviewEnvironment(other))
			}
		}
		for role, w := range wants {
			cond := conditions[env+"/"+string(role)]
			require.NotEmpty(t, cond, "%s %s has a condition", env, role)
			for _, tok := range w.legit {
				assert.True(t, admits(t, cond, tok), "%s %s admits %s:\n%s", env, role, tok["workflow_ref"], cond)
			}
			for what, tok := range w.bad {
				assert.False(t, admits(t, cond, tok), "%s %s refuses %s:\n%s", env, role, what, cond)
			}
		}
	}
}

// No pull request reaches production: a pull request's token, with any
// environment or workflow it may name, is refused by both of production's
// accounts; only experimental's and staging's previewers take it.
func TestNoPullRequestReachesProduction(t *testing.T) {
	conditions := providers(t, run(t))
	for key, cond := range conditions {
		for _, environment := range []string{"", "production", PreviewEnvironment("production"), "staging"} {
			tok := prToken().with("environment", environment)
			got := admits(t, cond, tok)
			if !strings.HasSuffix(key, "/"+string(PullRequest)) {
				assert.False(t, got, "%s refuses a pull request (environment %q)", key, environment)
			}
		}
		// A branch that edits deploy.yml and runs it on push.
		branch := deployToken("production").with("ref", "refs/heads/feature").
			with("workflow_ref", repo+"/"+DeployWorkflow+"@refs/heads/feature").
			with("job_workflow_ref", repo+"/"+UpWorkflow+"@refs/heads/feature")
		assert.False(t, admits(t, cond, branch), "%s refuses a branch's edited deploy workflow", key)
	}
}

// Each account is reachable from its own pool only, and each pool's
// provider is the one whose condition is tested above.
func TestEachAccountTrustsItsOwnPoolOnly(t *testing.T) {
	rec := run(t)
	bindings := map[string]string{}
	for _, b := range rec.OfType("gcp:serviceaccount/iAMMember:IAMMember") {
		assert.Equal(t, "roles/iam.workloadIdentityUser", tests.Str(b.Inputs, "role"))
		bindings[tests.Str(b.Inputs, "serviceAccountId")] = tests.Str(b.Inputs, "member")
	}
	want := map[string]string{}
	for _, env := range stacks.Environments {
		for _, role := range Roles(env) {
			want["projects/"+admin+"/serviceAccounts/"+email(env, role)] =
				"principalSet://iam.googleapis.com/projects/" + tests.ProjectNumber + "/locations/global/workloadIdentityPools/" + PoolID(env, role) + "/*"
		}
	}
	assert.Equal(t, want, bindings)
	for _, p := range rec.OfType("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider") {
		env, role, _ := strings.Cut(p.Name, "-")
		assert.Equal(t, PoolID(env, Role(role)), tests.Str(p.Inputs, "workloadIdentityPoolId"))
	}
}

// Each environment's state bucket and secrets key are reachable by that
// environment's accounts only: the deployer writes state and encrypts, the
// previewers read state and decrypt, and write nothing (a preview takes no
// lock, so none can remove a deploy's).
func TestEachEnvironmentsStateAndKeyAreItsOwn(t *testing.T) {
	rec := run(t)
	type grant struct{ on, role, member, condition string }
	var got []grant
	for _, b := range rec.OfType("gcp:storage/bucketIAMMember:BucketIAMMember") {
		got = append(got, grant{tests.Str(b.Inputs, "bucket"), tests.Str(b.Inputs, "role"), tests.Str(b.Inputs, "member"), tests.Str(b.Inputs, "condition.expression")})
	}
	for _, k := range rec.OfType("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember") {
		got = append(got, grant{tests.Str(k.Inputs, "cryptoKeyId"), tests.Str(k.Inputs, "role"), tests.Str(k.Inputs, "member"), ""})
	}
	var want []grant
	for _, env := range stacks.Environments {
		bucket, key := BucketName(admin, env), "secrets-"+env+"-id"
		deployer, previewer := "serviceAccount:"+email(env, Deployer), "serviceAccount:"+email(env, Previewer)
		want = append(want,
			grant{bucket, "roles/storage.objectAdmin", deployer, ""},
			grant{bucket, "roles/storage.objectViewer", previewer, ""},
			grant{key, "roles/cloudkms.cryptoKeyEncrypterDecrypter", deployer, ""},
			grant{key, "roles/cloudkms.cryptoKeyDecrypter", previewer, ""},
		)
		if env != "production" {
			pr := "serviceAccount:" + email(env, PullRequest)
			want = append(want,
				grant{bucket, "roles/storage.objectViewer", pr, ""},
				grant{key, "roles/cloudkms.cryptoKeyDecrypter", pr, ""},
			)
		}
	}
	assert.ElementsMatch(t, want, got)

	for _, env := range stacks.Environments {
		b := rec.Named("gcp:storage/bucket:Bucket", "state-"+env)
		require.NotNil(t, b)
		assert.Equal(t, BucketName(admin, env), tests.Str(b.Inputs, "name"))
		assert.True(t, b.Protect, "the state outlives a mistake in this program")
		v, _ := tests.Bool(b.Inputs, "versioning.enabled")
		assert.True(t, v, "every state write is kept")
		assert.Equal(t, "enforced", tests.Str(b.Inputs, "publicAccessPrevention"))
		ubla, _ := tests.Bool(b.Inputs, "uniformBucketLevelAccess")
		assert.True(t, ubla, "IAM alone decides, so the grants above are all there is")
		k := rec.Named("gcp:kms/cryptoKey:CryptoKey", "secrets-"+env)
		require.NotNil(t, k)
		assert.True(t, k.Protect, "losing the key loses the stack's secrets")
	}
}

// Each account gets roles on its own environment's project only: the
// deployer what `pulumi up` needs, the previewer reading rights.
func TestAccountsHoldRolesOnTheirOwnProjectOnly(t *testing.T) {
	rec := run(t)
	got := map[string][]string{}
	for _, m := range rec.OfType("gcp:projects/iAMMember:IAMMember") {
		k := tests.Str(m.Inputs, "project") + " " + tests.Str(m.Inputs, "member")
		got[k] = append(got[k], tests.Str(m.Inputs, "role"))
	}
	// The deployer holds the roles that create what the program registers
	// (DeployerRoleFor), and acts as the nodes' account; nothing else.
	needed := map[string]bool{"roles/iam.serviceAccountUser": true}
	for _, r := range DeployerRoleFor {
		needed[r] = true
	}
	want := map[string][]string{}
	for _, env := range stacks.Environments {
		var deployer []string
		for r := range needed {
			deployer = append(deployer, r)
		}
		want[envProject(env)+" serviceAccount:"+email(env, Deployer)] = deployer
		// Reading only: no write and no Secret in the cluster.
		want[envProject(env)+" serviceAccount:"+email(env, Previewer)] = []string{"roles/viewer", "roles/iam.securityReviewer"}
		if env != "production" {
			// A pull request's code: the cluster's metadata, nothing in it.
			want[envProject(env)+" serviceAccount:"+email(env, PullRequest)] = []string{"roles/container.clusterViewer"}
		}
	}
	require.Len(t, got, len(want))
	for k, roles := range want {
		assert.ElementsMatch(t, roles, got[k], k)
	}
	for _, roles := range got {
		for _, r := range roles {
			assert.NotContains(t, []string{"roles/owner", "roles/editor"}, r)
		}
	}
}

// Bad settings are refused before anything is registered, every problem
// at once, each naming its key.
func TestBadSettingsCreateNothing(t *testing.T) {
	for name, c := range map[string]struct {
		project, settings string
		want              []string
	}{
		"nothing set":  {"", "", []string{KeyProject, KeySettings + ": missing"}},
		"misspelt key": {admin, `{"locaton": "asia-northeast1"}`, []string{`unknown field "locaton"`}},
		"bad values": {admin, `{"location": "Tokyo", "repository": "argo-platform", "repositoryId": "acme",
		  "environments": {"experimental": {"project": "acme-argo-admin"}, "staging": {"project": "acme-argo-x"}, "production": {"project": "acme-argo-x"}, "qa": {"project": "acme-argo-qa"}}}`,
			[]string{
				KeySettings + ".location", KeySettings + ".repository:", KeySettings + ".repositoryId",
				"environments.experimental.project: \"acme-argo-admin\" is the admin project",
				"environments.production.project: \"acme-argo-x\" is also environments.staging.project", `unknown environment "qa"`,
			}},
		"an environment missing": {admin, `{"location": "asia-northeast1", "repository": "` + repo + `", "repositoryId": "1",
		  "environments": {"staging": {"project": "acme-argo-staging"}, "production": {"project": "acme-argo-production"}}}`,
			[]string{KeySettings + ".environments.experimental: missing"}},
	} {
		t.Run(name, func(t *testing.T) {
			rec, err := tests.Run(Deploy, "trust", map[string]string{KeyProject: c.project, KeySettings: c.settings}, true)
			require.Error(t, err)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Contains(t, err.Error(), fmt.Sprintf("%d problem(s)", len(c.want)))
			assert.Empty(t, rec.Resources(), "nothing is registered")
		})
	}
}

// Names fit GCP's limits for the longest environment and admin project.
func TestNamesFitGCPLimits(t *testing.T) {
	longest := strings.Repeat("a", 30)
	for _, env := range stacks.Environments {
		for _, role := range Roles(env) {
			assert.LessOrEqual(t, len(AccountID(env, role)), 30)
			assert.LessOrEqual(t, len(PoolID(env, role)), 32)
		}
		assert.LessOrEqual(t, len(BucketName(longest, env)), 63)
	}
}

// The deployer of each environment holds, on that environment's project, a
// role that lets it create every resource the main program registers for
// the stack: the program run under mocks for every real stack file (and
// production with a DNS zone, which the bootstrap settings grant it), each
// registered type looked up in DeployerRoleFor, the role looked up among the
// grants the bootstrap program really registers.
func TestTheDeployerMayCreateEveryResourceTheProgramRegisters(t *testing.T) {
	rec := run(t)
	granted := map[string]map[string]bool{}
	for _, m := range rec.OfType("gcp:projects/iAMMember:IAMMember") {
		k := tests.Str(m.Inputs, "project") + " " + tests.Str(m.Inputs, "member")
		if granted[k] == nil {
			granted[k] = map[string]bool{}
		}
		granted[k][tests.Str(m.Inputs, "role")] = true
	}
	for _, env := range stacks.Environments {
		t.Run(env, func(t *testing.T) {
			config, err := tests.EditedConfig(env, func(s map[string]any) {
				if env == stacks.Production {
					s["dns"] = map[string]any{"managedZone": "acme-data"}
				}
			})
			require.NoError(t, err)
			program, err := tests.Run(infra.Deploy, env, config, false)
			require.NoError(t, err)
			require.Equal(t, envProject(env), config[stacks.KeyProject], "the bootstrap's project for %s", env)
			roles := granted[envProject(env)+" serviceAccount:"+email(env, Deployer)]
			require.NotEmpty(t, roles)
			types := map[string]bool{}
			for _, r := range program.Resources() {
				if r.Custom && !strings.HasPrefix(r.Type, "pulumi:") {
					types[r.Type] = true
				}
			}
			if env == stacks.Production {
				assert.True(t, types["gcp:dns/recordSet:RecordSet"], "the DNS variant registers a record")
			}
			for _, typ := range slices.Sorted(maps.Keys(types)) {
				key := typ
				if strings.HasPrefix(typ, "kubernetes:") {
					key = "kubernetes:"
				}
				role, ok := DeployerRoleFor[key]
				if !assert.True(t, ok, "%s: no role on record lets the deployer create it (DeployerRoleFor)", typ) {
					continue
				}
				assert.True(t, roles[role], "%s: the deployer of %s lacks %s", typ, env, role)
			}
		})
	}
}
