package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

type workflow struct {
	Jobs map[string]struct {
		Uses     string            `yaml:"uses"`
		Needs    any               `yaml:"needs"`
		With     map[string]string `yaml:"with"`
		Strategy struct {
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

// The workflows, the stack files and the tool pins name the same things.
func TestWorkflowsAgreeWithTheStacks(t *testing.T) {
	for _, stack := range Stacks {
		_, err := os.Stat(filepath.Join(RepoRoot(), "Pulumi."+stack+".yaml"))
		require.NoError(t, err, "stack file for %s", stack)
	}
	for _, name := range []string{"preview.yml", "drift.yml"} {
		w := readWorkflow(t, name)
		job := w.Jobs[strings.TrimSuffix(name, ".yml")]
		assert.Equal(t, Stacks, job.Strategy.Matrix.Stack, "%s covers every stack", name)
	}
	deploy := readWorkflow(t, "deploy.yml")
	for _, stack := range Stacks {
		job, ok := deploy.Jobs[stack]
		require.True(t, ok, "deploy.yml deploys %s", stack)
		assert.Equal(t, "./.github/workflows/up.yml", job.Uses)
		assert.Equal(t, stack, job.With["stack"])
	}
	assert.Equal(t, "experimental", deploy.Jobs["staging"].Needs, "staging after experimental")
	assert.Equal(t, "staging", deploy.Jobs["production"].Needs, "production after staging")
	assert.Equal(t, "production", deploy.Jobs["production"].With["environment"], "production waits for approval")

	script, err := os.ReadFile(filepath.Join(RepoRoot(), "tools", "build.sh"))
	require.NoError(t, err)
	pin := regexp.MustCompile(`pulumi_version=v([0-9.]+)`).FindSubmatch(script)
	require.NotNil(t, pin)
	for _, name := range []string{"preview.yml", "drift.yml", "up.yml"} {
		w := readWorkflow(t, name)
		found := false
		for _, job := range w.Jobs {
			for _, step := range job.Steps {
				if strings.HasPrefix(step.Uses, "pulumi/actions@") {
					found = true
					assert.Equal(t, "${{ vars.PULUMI_STATE_BUCKET }}", step.With["cloud-url"], "%s: the gs:// backend from one place", name)
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
