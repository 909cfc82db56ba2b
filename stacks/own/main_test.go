package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/argo-platform/argo-platform/infra/gcp/google"
	"github.com/argo-platform/argo-platform/stacks"
)

// copyStackFiles puts the repository's three stack files in a fresh folder.
func copyStackFiles(t *testing.T) string {
	dir := t.TempDir()
	for _, stack := range stacks.Environments {
		name := "Pulumi." + stack + ".yaml"
		b, err := os.ReadFile(filepath.Join("..", "..", name))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
	return dir
}

func read(t *testing.T, dir, stack string) []byte {
	b, err := os.ReadFile(filepath.Join(dir, "Pulumi."+stack+".yaml"))
	require.NoError(t, err)
	return b
}

func load(t *testing.T, dir, stack string) *stacks.Loaded {
	in, err := stacks.ReadStackFile(stack, read(t, dir, stack))
	require.NoError(t, err)
	in.DatabaseAdminPassword = "a-password-of-20-chars"
	in.SSOClientSecret = "a-client-secret"
	l, err := stacks.Parse(in)
	require.NoError(t, err, stack)
	return l
}

var team = stacks.Own{
	ProjectPrefix: "acme-data-argo",
	Region:        "europe-west4",
	Domain:        "acme-data.dev",
	Networks:      []google.AuthorizedNetwork{{Name: "office", CIDR: "34.84.10.0/24"}, {Name: "runner", CIDR: "35.200.1.7/32"}},
	Members:       []string{"group:data-team@acme-data.dev"},
	Emails:        []string{"data-oncall@acme-data.dev"},
	SSOClientID:   "482915730211-acmedata.apps.googleusercontent.com",
	Viewers:       []string{"domain:acme-data.dev"},
	Runners:       []string{"user:lead@acme-data.dev", "user:analyst@acme-data.dev"},
	Editors:       []string{"user:lead@acme-data.dev"},
}

func TestOneCommandPutsATeamsValuesInEveryStackFile(t *testing.T) {
	dir := copyStackFiles(t)
	left, err := run(dir, team)
	require.NoError(t, err)
	// experimental's example identity names a bucket only its team knows.
	require.Len(t, left, 1)
	assert.Contains(t, left[0], `experimental: argo-platform:settings.identities[0].buckets[0].bucket: "example-argo-exports" is an example value`)

	want := map[string]struct{ project, domain string }{
		"experimental": {"acme-data-argo-experimental", "argo.experimental.acme-data.dev"},
		"staging":      {"acme-data-argo-staging", "argo.staging.acme-data.dev"},
		"production":   {"acme-data-argo-production", "argo.acme-data.dev"},
	}
	for _, stack := range []string{"staging", "production"} {
		l := load(t, dir, stack)
		assert.Equal(t, want[stack].project, l.Project, stack)
		assert.Equal(t, "europe-west4", l.Region, stack)
		assert.Equal(t, want[stack].domain, l.Domain, stack)
		assert.Equal(t, team.Networks, l.Cluster.AuthorizedNetworks, stack)
		assert.Equal(t, team.Members, l.IAP.Members, stack)
		assert.Equal(t, team.Emails, l.Alerts.Emails, stack)
		assert.Equal(t, team.SSOClientID, l.Access.ClientID, stack)
		assert.Equal(t, team.Viewers, l.Access.Viewers, stack)
		assert.Equal(t, team.Runners, l.Access.Runners, stack)
		assert.Equal(t, team.Editors, l.Access.Editors, stack)
	}
	in, err := stacks.ReadStackFile("experimental", read(t, dir, "experimental"))
	require.NoError(t, err)
	assert.Equal(t, want["experimental"].project, in.Project)
	assert.Contains(t, in.Settings, `"domain":"argo.experimental.acme-data.dev"`)
	assert.NotContains(t, in.Settings, `"alerts"`, "experimental lists no alerts, and gets none")
	assert.Contains(t, in.Settings, `"runners":["user:lead@acme-data.dev","user:analyst@acme-data.dev"]`, "the identity's runners too")
}

func TestOneCommandKeepsEveryCommentAndEveryOtherKey(t *testing.T) {
	dir := copyStackFiles(t)
	before := map[string][]byte{}
	for _, stack := range stacks.Environments {
		before[stack] = read(t, dir, stack)
	}
	_, err := run(dir, team)
	require.NoError(t, err)
	for _, stack := range stacks.Environments {
		after := read(t, dir, stack)
		var comments []string
		for _, line := range strings.Split(string(before[stack]), "\n") {
			if c := strings.TrimSpace(line); strings.HasPrefix(c, "#") {
				comments = append(comments, c)
			}
		}
		rest := string(after)
		for _, c := range comments {
			i := strings.Index(rest, c)
			require.GreaterOrEqual(t, i, 0, "%s: comment lost or moved: %s", stack, c)
			rest = rest[i+len(c):]
		}

		// Every key but the ones replaced reads as before.
		strip := func(b []byte) map[string]any {
			var f map[string]any
			require.NoError(t, yaml.Unmarshal(b, &f))
			config := f["config"].(map[string]any)
			delete(config, "gcp:project")
			delete(config, "gcp:region")
			s := config["argo-platform:settings"].(map[string]any)
			delete(s, "domain")
			delete(s["cluster"].(map[string]any), "authorizedNetworks")
			delete(s["iap"].(map[string]any), "members")
			if a, ok := s["alerts"].(map[string]any); ok {
				delete(a, "emails")
			}
			delete(s, "access")
			if ids, ok := s["identities"].([]any); ok {
				for _, id := range ids {
					delete(id.(map[string]any), "runners")
				}
			}
			return f
		}
		assert.Equal(t, strip(before[stack]), strip(after), stack)
	}
}

func TestOneCommandWritesNothingWhenAValueIsRefused(t *testing.T) {
	dir := copyStackFiles(t)
	before := read(t, dir, "staging")
	bad := team
	bad.Networks = []google.AuthorizedNetwork{{Name: "office", CIDR: "34.84.10.0/33"}}
	bad.Members = []string{"data-team@acme-data.dev"}
	_, err := run(dir, bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nothing was written")
	assert.Contains(t, err.Error(), `staging: argo-platform:settings.cluster.authorizedNetworks[0].cidr: invalid value "34.84.10.0/33"`)
	assert.Contains(t, err.Error(), `production: argo-platform:settings.iap.members[0]: invalid value "data-team@acme-data.dev"`)
	for _, stack := range stacks.Environments {
		assert.NotContains(t, string(read(t, dir, stack)), "acme-data", stack)
	}
	assert.Equal(t, string(before), string(read(t, dir, "staging")))
}

func TestOneCommandNamesTheExampleValuesItWasNotGiven(t *testing.T) {
	dir := copyStackFiles(t)
	left, err := run(dir, stacks.Own{Domain: "acme-data.dev"})
	require.NoError(t, err)
	all := strings.Join(left, "\n")
	for _, stack := range []string{"staging", "production"} {
		assert.Contains(t, all, stack+`: gcp:project: "example-argo-`+stack+`" is an example value`)
		assert.Contains(t, all, stack+`: argo-platform:settings.alerts.emails[0]`)
		assert.Contains(t, all, stack+`: argo-platform:settings.iap.members[0]`)
		assert.NotContains(t, all, stack+`: argo-platform:settings.domain`)
	}
}

// readmeCommand is the README's `go run ./stacks/own` line, its
// continuation lines joined, split into arguments.
func readmeCommand(t *testing.T) []string {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, "go run ./stacks/own "); ok {
			return strings.Fields(rest)
		}
	}
	t.Fatal("the README's first screen has no `go run ./stacks/own` command")
	return nil
}

func TestTheREADMEsCommandPastedUnchangedIsRefusedNamingEachPlaceholder(t *testing.T) {
	args := readmeCommand(t)
	dir := copyStackFiles(t)
	_, o, err := parse(append(args, "-dir", dir))
	require.NoError(t, err, "the README's flags are the command's")
	_, err = run(dir, o)
	require.Error(t, err)
	for _, key := range []string{
		`gcp:project: invalid value "PREFIX-staging"`,
		`settings.domain: invalid value "argo.staging.DOMAIN"`,
		`settings.cluster.authorizedNetworks[0].cidr: invalid value "EGRESS_CIDR"`,
		`settings.iap.members[0]: invalid value "group:TEAM@DOMAIN"`,
		`settings.alerts.emails[0]: invalid value "ONCALL@DOMAIN"`,
		`settings.access.ssoClientId: invalid value "CLIENT_ID"`,
		`settings.access.editors[0]: invalid value "user:LEAD@DOMAIN"`,
	} {
		assert.Contains(t, err.Error(), key)
	}
	for _, stack := range stacks.Environments {
		assert.NotContains(t, string(read(t, dir, stack)), "PREFIX", stack)
	}
}

func TestTheREADMEsCommandWithATeamsValuesLeavesOnlyTheExampleBucket(t *testing.T) {
	args := strings.NewReplacer(
		"PREFIX", "acme-data-argo",
		"EGRESS_CIDR", "34.84.10.0/24",
		"TEAM@DOMAIN", "data-team@acme-data.dev",
		"ONCALL@DOMAIN", "data-oncall@acme-data.dev",
		"LEAD@DOMAIN", "lead@acme-data.dev",
		"CLIENT_ID", "482915730211-acmedata.apps.googleusercontent.com",
		"DOMAIN", "acme-data.dev",
	).Replace(strings.Join(readmeCommand(t), " "))
	dir := copyStackFiles(t)
	_, o, err := parse(append(strings.Fields(args), "-dir", dir))
	require.NoError(t, err)
	left, err := run(dir, o)
	require.NoError(t, err)
	require.Len(t, left, 1)
	assert.Contains(t, left[0], "experimental: argo-platform:settings.identities[0].buckets[0].bucket")
}

func TestOneCommandWithoutValuesSaysHowToUseIt(t *testing.T) {
	_, _, err := parse(nil)
	require.Error(t, err)
	_, _, err = parse([]string{"-network", "34.84.10.0/24"})
	require.ErrorContains(t, err, "want name=cidr")
}
