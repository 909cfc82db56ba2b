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
	Jobs map[string]struct {
		RunsOn      string            `yaml:"runs-on"`
		Uses        string            `yaml:"uses"`
		Needs       any               `yaml:"needs"`
		Environment string            `yaml:"environment"`
		With        map[string]string `yaml:"with"`
		Strategy    struct {
			Matrix struct {
				Stack []string `yaml:"stack"`
			} `yaml:"matrix"`
		} `yaml:"strategy"`
		Steps []struct {
			Uses string            `yaml:"uses"`
			With map[string]string `yaml:"with"`
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

// Previews and deploys run only on the runner DEPLOY_RUNNER names (the
// cluster admits no other address), and fail at once, before any cloud
// step, when it is unset: the guard's own script is run here both ways.
func TestDeploysFailAtOnceWithoutTheirRunner(t *testing.T) {
	const guard = "./.github/actions/require-deploy-runner"
	for _, name := range []string{"preview.yml", "drift.yml", "up.yml"} {
		w := readWorkflow(t, name)
		runner, ok := w.Jobs["runner"]
		require.True(t, ok, "%s has a runner guard job", name)
		guarded := false
		for _, step := range runner.Steps {
			if step.Uses == guard {
				guarded = true
				assert.Equal(t, "${{ vars.DEPLOY_RUNNER }}", step.With["deploy-runner"], name)
			}
		}
		assert.True(t, guarded, "%s: the runner job uses %s", name, guard)
		for jobName, job := range w.Jobs {
			for _, step := range job.Steps {
				if strings.HasPrefix(step.Uses, "pulumi/actions@") {
					assert.Equal(t, "${{ vars.DEPLOY_RUNNER }}", job.RunsOn, "%s/%s: no fallback to a hosted runner", name, jobName)
					assert.Equal(t, "runner", job.Needs, "%s/%s waits for the guard", name, jobName)
				}
			}
		}
	}

	data, err := os.ReadFile(filepath.Join(RepoRoot(), ".github", "actions", "require-deploy-runner", "action.yml"))
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
	require.Equal(t, "${{ inputs.deploy-runner }}", step.Env["DEPLOY_RUNNER"])
	run := func(value string) (string, error) {
		cmd := exec.Command("bash", "-e", "-c", step.Run)
		cmd.Env = append(os.Environ(), "DEPLOY_RUNNER="+value)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("")
	assert.Error(t, err, "unset: the guard fails")
	assert.Contains(t, out, "::error title=DEPLOY_RUNNER is not set::")
	assert.Contains(t, out, "cluster.authorizedNetworks", "it says what to set and why")
	out, err = run("argo-deployer")
	assert.NoError(t, err, "set: the guard passes: %s", out)
}
