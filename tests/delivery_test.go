package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/argo-platform/argo-platform/bootstrap/trust"
)

type workflow struct {
	On          map[string]any    `yaml:"on"`
	Permissions map[string]string `yaml:"permissions"`
	Jobs        map[string]struct {
		RunsOn      string            `yaml:"runs-on"`
		Uses        string            `yaml:"uses"`
		Needs       any               `yaml:"needs"`
		Environment string            `yaml:"environment"`
		Permissions map[string]string `yaml:"permissions"`
		With        map[string]string `yaml:"with"`
		Strategy    struct {
			Matrix struct {
				Stack []string `yaml:"stack"`
			} `yaml:"matrix"`
		} `yaml:"strategy"`
		Steps []struct {
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			With map[string]string `yaml:"with"`
			Env  map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func readWorkflow(t *testing.T, name string) workflow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(RepoRoot(), ".github", "workflows", name))
	require.NoError(t, err)
	var w workflow
	require.NoError(t, yaml.Unmarshal(data, &w))
	return w
}

// The workflows, the stack files, the bootstrap's trust conditions and the
// tool pins name the same things: each job runs the workflow file and the
// GitHub environment its account admits (bootstrap/trust), so a workflow
// that drifted from them fails here rather than at its first deploy.
func TestWorkflowsAgreeWithTheStacksAndTheTrust(t *testing.T) {
	for _, stack := range Stacks {
		_, err := os.Stat(filepath.Join(RepoRoot(), "Pulumi."+stack+".yaml"))
		require.NoError(t, err, "stack file for %s", stack)
	}
	for _, f := range []string{trust.DeployWorkflow, trust.UpWorkflow, trust.DriftWorkflow, trust.PreviewWorkflow} {
		_, err := os.Stat(filepath.Join(RepoRoot(), f))
		require.NoError(t, err, "the trust names %s", f)
	}
	drift := readWorkflow(t, "drift.yml").Jobs["drift"]
	assert.Equal(t, Stacks, drift.Strategy.Matrix.Stack, "drift.yml checks every stack")
	assert.Equal(t, "${{ matrix.stack }}-preview", drift.Environment, "as each stack's previewer, in %s", trust.PreviewEnvironment("<stack>"))
	// The drift check's refresh is the one the e2e runs as the previewer
	// (checkMainPreview), against the same state bucket.
	refreshes := 0
	for _, step := range drift.Steps {
		if !strings.Contains(step.Run, "pulumi refresh") {
			continue
		}
		refreshes++
		args := strings.Fields(strings.ReplaceAll(step.Run, "'", ""))
		for _, flag := range trust.DriftRefreshFlags {
			assert.Contains(t, args, flag, "drift.yml's refresh runs with %v", trust.DriftRefreshFlags)
		}
		assert.NotContains(t, args, "--yes", "the drift check writes no state")
		assert.Equal(t, "${{ vars.PULUMI_STATE_URL }}", step.Env["PULUMI_BACKEND_URL"])
	}
	assert.Equal(t, 1, refreshes, "drift.yml refreshes once")
	preview := readWorkflow(t, "preview.yml").Jobs["preview"]
	assert.Equal(t, []string{"experimental", "staging"}, preview.Strategy.Matrix.Stack,
		"pull requests preview experimental and staging; production's previewer admits no pull request")
	assert.Empty(t, preview.Environment)

	deploy := readWorkflow(t, "deploy.yml")
	type job struct{ stack, environment, command, needs string }
	want := map[string]job{
		"experimental":       {"experimental", "experimental", "", ""},
		"staging":            {"staging", "staging", "", "experimental"},
		"production-preview": {"production", trust.PreviewEnvironment("production"), "preview", "staging"},
		"production":         {"production", "production", "", "production-preview"},
	}
	require.Len(t, deploy.Jobs, len(want))
	for name, w := range want {
		j := deploy.Jobs[name]
		assert.Equal(t, "./"+trust.UpWorkflow, j.Uses, "%s calls up.yml (the deployers' job_workflow_ref)", name)
		needs, _ := j.Needs.(string)
		assert.Equal(t, job{j.With["stack"], j.With["environment"], j.With["command"], needs}, w, "deploy.yml job %s", name)
	}

	script, err := os.ReadFile(filepath.Join(RepoRoot(), "tools", "build.sh"))
	require.NoError(t, err)
	pin := regexp.MustCompile(`pulumi_version=v([0-9.]+)`).FindSubmatch(script)
	require.NotNil(t, pin)
	stateURL := map[string]string{
		"preview.yml": "${{ vars[format('PULUMI_STATE_URL_{0}', matrix.stack)] }}",
		"drift.yml":   "${{ vars.PULUMI_STATE_URL }}",
		"up.yml":      "${{ vars.PULUMI_STATE_URL }}",
	}
	for name, url := range stateURL {
		w := readWorkflow(t, name)
		found := false
		for _, job := range w.Jobs {
			for _, step := range job.Steps {
				if strings.HasPrefix(step.Uses, "pulumi/actions@") {
					found = true
					assert.Equal(t, url, step.With["cloud-url"], "%s: each stack's own state bucket, from one place", name)
					assert.Equal(t, string(pin[1]), step.With["pulumi-version"], "%s: the CLI the tests use", name)
				}
			}
		}
		assert.True(t, found, "%s runs pulumi/actions", name)
	}
	readme, err := os.ReadFile(filepath.Join(RepoRoot(), "README.md"))
	require.NoError(t, err)
	assert.Contains(t, string(readme), "pulumi login gs://")
	assert.Contains(t, string(readme), "--secrets-provider=\"gcpkms://")
}

// The guard step every workflow's runner job runs before any cloud step.
const guard = "./.github/actions/require-runner"

// runGuard runs the guard action's own script with its inputs.
func runGuard(t *testing.T, runner, variable, deployRunner string) (string, error) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(RepoRoot(), ".github", "actions", "require-runner", "action.yml"))
	require.NoError(t, err)
	var action struct {
		Runs struct {
			Steps []struct {
				Run string            `yaml:"run"`
				Env map[string]string `yaml:"env"`
			} `yaml:"steps"`
		} `yaml:"runs"`
	}
	require.NoError(t, yaml.Unmarshal(data, &action))
	require.Len(t, action.Runs.Steps, 1)
	step := action.Runs.Steps[0]
	require.Equal(t, map[string]string{
		"RUNNER_LABEL":  "${{ inputs.runner }}",
		"VARIABLE":      "${{ inputs.variable }}",
		"DEPLOY_RUNNER": "${{ inputs.deploy-runner }}",
	}, step.Env)
	cmd := exec.Command("bash", "-e", "-c", step.Run)
	cmd.Env = append(os.Environ(), "RUNNER_LABEL="+runner, "VARIABLE="+variable, "DEPLOY_RUNNER="+deployRunner)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Pull-request code never runs where a deploy runs: previews of pull
// requests run on PREVIEW_RUNNER, deploys, main's previews and the drift
// check on DEPLOY_RUNNER, and no workflow a pull request triggers names
// the deploy runner as its own. Each job fails at once, before any cloud
// step, when its runner is unset, and a pull request's when its runner is
// the deploy runner: the guard's own script is run here every way.
func TestPullRequestCodeNeverRunsWhereADeployRuns(t *testing.T) {
	runners := map[string]string{"preview.yml": "PREVIEW_RUNNER", "drift.yml": "DEPLOY_RUNNER", "up.yml": "DEPLOY_RUNNER"}
	for name, variable := range runners {
		w := readWorkflow(t, name)
		_, onPR := w.On["pull_request"]
		_, onPRTarget := w.On["pull_request_target"]
		assert.False(t, onPRTarget, "%s: pull_request_target runs a pull request's code with main's rights", name)
		assert.Equal(t, name == "preview.yml", onPR, "%s: only preview.yml runs on pull requests", name)
		runner, ok := w.Jobs["runner"]
		require.True(t, ok, "%s has a runner guard job", name)
		assert.Equal(t, "ubuntu-latest", runner.RunsOn, "%s: the guard runs on a hosted runner, before any self-hosted one", name)
		guarded := false
		for _, step := range runner.Steps {
			if step.Uses == guard {
				guarded = true
				assert.Equal(t, "${{ vars."+variable+" }}", step.With["runner"], name)
				assert.Equal(t, variable, step.With["variable"], name)
				if onPR {
					assert.Equal(t, "${{ vars.DEPLOY_RUNNER }}", step.With["deploy-runner"], "%s: the guard refuses the deploy runner", name)
				}
			}
		}
		assert.True(t, guarded, "%s: the runner job uses %s", name, guard)
		for jobName, job := range w.Jobs {
			if onPR {
				assert.NotContains(t, job.RunsOn, "DEPLOY_RUNNER", "%s/%s: a pull request's job on the deploy runner", name, jobName)
			}
			for _, step := range job.Steps {
				if strings.HasPrefix(step.Uses, "pulumi/actions@") {
					assert.Equal(t, "${{ vars."+variable+" }}", job.RunsOn, "%s/%s: no fallback to a hosted runner", name, jobName)
					assert.Equal(t, "runner", job.Needs, "%s/%s waits for the guard", name, jobName)
				}
			}
		}
	}

	out, err := runGuard(t, "", "DEPLOY_RUNNER", "")
	assert.Error(t, err, "unset: the guard fails")
	assert.Contains(t, out, "::error title=DEPLOY_RUNNER is not set::")
	assert.Contains(t, out, "cluster.authorizedNetworks", "it says what to set and why")
	out, err = runGuard(t, "argo-deployer", "DEPLOY_RUNNER", "")
	assert.NoError(t, err, "a deploy on its runner: %s", out)
	out, err = runGuard(t, "argo-deployer", "PREVIEW_RUNNER", "argo-deployer")
	assert.Error(t, err, "a pull request on the deploy runner: the guard fails")
	assert.Contains(t, out, "::error title=PREVIEW_RUNNER is the deploy runner::")
	out, err = runGuard(t, "", "PREVIEW_RUNNER", "argo-deployer")
	assert.Error(t, err, "a pull request with no runner of its own: the guard fails: %s", out)
	out, err = runGuard(t, "argo-previews", "PREVIEW_RUNNER", "argo-deployer")
	assert.NoError(t, err, "a pull request on its own runner: %s", out)
}

// The job that runs a pull request's code holds no right to write on
// GitHub: preview.yml asks only to read the repository and for the token
// its previewer account is exchanged for. Its diff is posted by
// comment.yml, which runs from main on the preview's completion, checks
// nothing out, runs no action of the repository, takes the pull request's
// number from GitHub's event (never from the artifact a pull request
// wrote), and holds only the rights to read that run's artifacts and to
// comment.
func TestPreviewCommentsArePostedApartFromThePullRequestsCode(t *testing.T) {
	preview := readWorkflow(t, "preview.yml")
	assert.Equal(t, map[string]string{"contents": "read", "id-token": "write"}, preview.Permissions, "preview.yml writes nothing on GitHub")
	for name, job := range preview.Jobs {
		assert.Empty(t, job.Permissions, "preview.yml/%s asks for no rights of its own", name)
		for _, step := range job.Steps {
			if strings.HasPrefix(step.Uses, "pulumi/actions@") {
				assert.Equal(t, "false", step.With["comment-on-pr"], "the preview does not comment itself")
				assert.Empty(t, step.With["github-token"], "the preview gets no GitHub token to write with")
			}
		}
	}
	uploads := false
	for _, step := range preview.Jobs["preview"].Steps {
		uploads = uploads || strings.HasPrefix(step.Uses, "actions/upload-artifact@")
	}
	assert.True(t, uploads, "the preview leaves its diff as an artifact")

	comment := readWorkflow(t, "comment.yml")
	run, ok := comment.On["workflow_run"].(map[string]any)
	require.True(t, ok, "comment.yml runs on workflow_run: from main, not from the pull request")
	assert.Equal(t, []any{"preview"}, run["workflows"])
	assert.Len(t, comment.On, 1, "comment.yml has no other trigger")
	assert.Empty(t, comment.Permissions, "no rights but the job's own")
	require.Len(t, comment.Jobs, 1)
	for name, job := range comment.Jobs {
		assert.Equal(t, map[string]string{"actions": "read", "pull-requests": "write"}, job.Permissions, name)
		assert.Equal(t, "ubuntu-latest", job.RunsOn, name)
		for _, step := range job.Steps {
			assert.False(t, strings.HasPrefix(step.Uses, "actions/checkout@"), "%s checks nothing out", name)
			assert.False(t, strings.HasPrefix(step.Uses, "./"), "%s runs no action of the repository", name)
			if step.Run != "" {
				assert.NotContains(t, step.Run, "${{", "%s: no expression is pasted into the script; values come through env", name)
				assert.Equal(t, "${{ github.event.workflow_run.pull_requests[0].number }}", step.Env["PR"], "%s: the pull request from GitHub's event", name)
			}
		}
	}
}

// Every action a workflow or a composite action runs is pinned by commit:
// a tag (`@v6`) or a branch can be moved by whoever controls the action's
// repository, and these jobs hold production's deployer token. The version
// stays readable in a comment beside the SHA (`@<40 hex> # v6.1.0`), which
// is what an update changes together. Local actions (`./`) are reviewed
// with the repository; a container action would need a sha256 digest.
func TestEveryActionIsPinnedByCommit(t *testing.T) {
	usesLine := regexp.MustCompile(`^\s*(?:-\s*)?uses:\s*['"]?([^'"\s#]+)['"]?\s*(.*)$`)
	pinned := regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_./-]+)?@[0-9a-f]{40}$`)
	version := regexp.MustCompile(`^#\s*v\d+\.\d+\.\d+\b`)
	digest := regexp.MustCompile(`^docker://[^@\s]+@sha256:[0-9a-f]{64}$`)
	var files []string
	root := filepath.Join(RepoRoot(), ".github")
	require.NoError(t, filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".yml") || strings.HasSuffix(path, ".yaml")) {
			files = append(files, path)
		}
		return err
	}))
	remote := 0
	for _, path := range files {
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		name, _ := filepath.Rel(root, path)
		for i, line := range strings.Split(string(data), "\n") {
			m := usesLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			ref, rest := m[1], m[2]
			switch {
			case strings.HasPrefix(ref, "./"):
				continue
			case strings.HasPrefix(ref, "docker://"):
				assert.Regexp(t, digest, ref, "%s:%d: a container action is pinned by digest", name, i+1)
			default:
				assert.Regexp(t, pinned, ref, "%s:%d: %s is pinned by a full commit SHA, not a tag or branch", name, i+1, ref)
				assert.Regexp(t, version, rest, "%s:%d: the version pinned (# vX.Y.Z) is written beside %s", name, i+1, ref)
			}
			remote++
		}
	}
	assert.Greater(t, remote, 5, "the workflows' actions were found")
}
