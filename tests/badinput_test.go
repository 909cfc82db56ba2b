package tests

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/argo-platform/argo-platform/infra"
)

// edit returns the staging stack's configuration with one change applied to
// its settings block.
func edit(t *testing.T, change func(s map[string]any)) map[string]string {
	t.Helper()
	cfg, err := EditedConfig("staging", change)
	require.NoError(t, err)
	return cfg
}

func TestBadInputFailsBeforeAnyResource(t *testing.T) {
	cases := []struct {
		name  string
		stack string
		cfg   func(t *testing.T) map[string]string
		want  []string // every fragment must appear in the error
	}{
		{"misspelled top-level key", "staging", func(t *testing.T) map[string]string {
			return edit(t, func(s map[string]any) { s["domian"] = "argo.example.com" })
		}, []string{"argo-platform:settings.domian: unknown key", "accepted keys:", "domain"}},
		{"misspelled nested key", "staging", func(t *testing.T) map[string]string {
			return edit(t, func(s map[string]any) { Section(s, "database")["teir"] = "db-custom-1-3840" })
		}, []string{"argo-platform:settings.database.teir: unknown key", "tier"}},
		{"misspelled key in a list item", "staging", func(t *testing.T) map[string]string {
			return edit(t, func(s map[string]any) {
				Section(s, "cluster")["authorizedNetworks"] = []any{map[string]any{"name": "ci", "cird": "203.0.113.0/24"}}
			})
		}, []string{"cluster.authorizedNetworks[0].cird: unknown key"}},
		{"misspelt block next to the settings", "staging", func(t *testing.T) map[string]string {
			cfg := edit(t, func(map[string]any) {})
			cfg["argo-platform:setings"] = cfg["argo-platform:settings"]
			delete(cfg, "argo-platform:settings")
			return cfg
		}, []string{"argo-platform:setings: unknown key; this project reads only argo-platform:settings, argo-platform:databaseAdminPassword, argo-platform:ssoClientSecret", "argo-platform:settings: missing"}},
		{"stray key in the project's namespace", "staging", func(t *testing.T) map[string]string {
			cfg := edit(t, func(map[string]any) {})
			cfg["argo-platform:domain"] = "argo.example.com"
			return cfg
		}, []string{"argo-platform:domain: unknown key"}},
		{"wrong type", "staging", func(t *testing.T) map[string]string {
			return edit(t, func(s map[string]any) { Section(s, "database")["backups"] = "yes" })
		}, []string{"argo-platform:settings.database.backups", "boolean"}},
		{"unknown environment", "dev", func(t *testing.T) map[string]string {
			return edit(t, func(s map[string]any) { s["environment"] = "qa" })
		}, []string{"argo-platform:settings.environment", `"qa"`, "experimental, staging, production"}},
		{"environment differs from the stack", "staging", func(t *testing.T) map[string]string {
			return edit(t, func(s map[string]any) { s["environment"] = "production" })
		}, []string{"argo-platform:settings.environment", "does not match the stack"}},
		{"bad project id", "staging", func(t *testing.T) map[string]string {
			c := edit(t, func(map[string]any) {})
			c["gcp:project"] = "My_Project"
			return c
		}, []string{"gcp:project", `"My_Project"`}},
		{"missing region", "staging", func(t *testing.T) map[string]string {
			c := edit(t, func(map[string]any) {})
			delete(c, "gcp:region")
			return c
		}, []string{"gcp:region: missing"}},
		{"zone instead of region", "staging", func(t *testing.T) map[string]string {
			c := edit(t, func(map[string]any) {})
			c["gcp:region"] = "asia-northeast1-a"
			return c
		}, []string{"gcp:region", "not a zone"}},
		{"domain with scheme", "staging", func(t *testing.T) map[string]string {
			return edit(t, func(s map[string]any) { s["domain"] = "https://argo.example.com/ui" })
		}, []string{"argo-platform:settings.domain", "no scheme"}},
		{"missing domain", "staging", func(t *testing.T) map[string]string {
			return edit(t, func(s map[string]any) { delete(s, "domain") })
		}, []string{"argo-platform:settings.domain: missing"}},
		{"domain with trailing dot", "staging", func(t *testing.T) map[string]string {
			return edit(t, func(s map[string]any) { s["domain"] = "argo.example.com." })
		}, []string{"argo-platform:settings.domain"}},
		{"uppercase domain", "staging", func(t *testing.T) map[string]string {
			return edit(t, func(s map[string]any) { s["domain"] = "Argo.Example.com" })
		}, []string{"argo-platform:settings.domain", "lowercase"}},
		{"bad tier", "staging", func(t *testing.T) map[string]string {
			return edit(t, func(s map[string]any) { Section(s, "database")["tier"] = "db-custom-3-1000" })
		}, []string{"argo-platform:settings.database.tier", `"db-custom-3-1000"`, "db-custom-<vCPUs>-<MiB>"}},
		{"unsupported postgres", "staging", func(t *testing.T) map[string]string {
			return edit(t, func(s map[string]any) { Section(s, "database")["version"] = "POSTGRES_13" })
		}, []string{"argo-platform:settings.database.version", "POSTGRES_17"}},
		{"public IAP member", "staging", func(t *testing.T) map[string]string {
			return edit(t, func(s map[string]any) { Section(s, "iap")["members"] = []any{"allUsers"} })
		}, []string{"argo-platform:settings.iap.members[0]", "allUsers", "public access through IAP is refused"}},
		{"unprefixed IAP member", "staging", func(t *testing.T) map[string]string {
			return edit(t, func(s map[string]any) { Section(s, "iap")["members"] = []any{"alice@example.com"} })
		}, []string{"argo-platform:settings.iap.members[0]", "user:, group:, serviceAccount: or domain:"}},
		{"control plane open to the internet", "staging", func(t *testing.T) map[string]string {
			return edit(t, func(s map[string]any) {
				Section(s, "cluster")["authorizedNetworks"] = []any{map[string]any{"name": "all", "cidr": "0.0.0.0/0"}}
			})
		}, []string{"cluster.authorizedNetworks[0].cidr", "0.0.0.0/0"}},
		{"unparseable CIDR", "staging", func(t *testing.T) map[string]string {
			return edit(t, func(s map[string]any) { Section(s, "network")["podsCIDR"] = "10.20.0.0/33" })
		}, []string{"argo-platform:settings.network.podsCIDR", "CIDR"}},
		{"overlapping ranges", "staging", func(t *testing.T) map[string]string {
			return edit(t, func(s map[string]any) { Section(s, "network")["servicesCIDR"] = "10.10.0.0/24" })
		}, []string{"overlaps", "network.servicesCIDR"}},
		{"retention out of range", "staging", func(t *testing.T) map[string]string {
			return edit(t, func(s map[string]any) { Section(s, "logs")["retentionDays"] = 0 })
		}, []string{"argo-platform:settings.logs.retentionDays", "from 1 to 3650"}},
		{"argo latest", "staging", func(t *testing.T) map[string]string {
			return edit(t, func(s map[string]any) { Section(s, "argo")["version"] = "latest" })
		}, []string{"argo-platform:settings.argo.version", `"latest"`}},
		{"argo release not checked", "staging", func(t *testing.T) map[string]string {
			return edit(t, func(s map[string]any) { Section(s, "argo")["version"] = "v3.6.5" })
		}, []string{"argo-platform:settings.argo.version", "one of v4.0.7, v4.1.2"}},
		{"production without HA", "production", func(t *testing.T) map[string]string {
			cfg, err := EditedConfig("production", func(s map[string]any) {
				Section(s, "database")["highAvailability"] = false
				Section(s, "database")["tier"] = "db-f1-micro"
				Section(s, "iap")["members"] = []any{}
				s["protect"] = false
			})
			require.NoError(t, err)
			return cfg
		}, []string{"database.highAvailability: must be true in production", "database.tier", "shared-core", "iap.members: empty", "protect: must be true"}},
		{"missing admin password", "staging", func(t *testing.T) map[string]string {
			c := edit(t, func(map[string]any) {})
			delete(c, "argo-platform:databaseAdminPassword")
			return c
		}, []string{"argo-platform:databaseAdminPassword: missing", "pulumi config set --secret"}},
		{"missing settings block", "staging", func(t *testing.T) map[string]string {
			c := edit(t, func(map[string]any) {})
			delete(c, "argo-platform:settings")
			return c
		}, []string{"argo-platform:settings: missing"}},
		{"several problems at once", "staging", func(t *testing.T) map[string]string {
			return edit(t, func(s map[string]any) {
				s["domain"] = "argo.example.com."
				Section(s, "database")["version"] = "POSTGRES_9"
				Section(s, "logs")["retentionDays"] = 99999
			})
		}, []string{"settings.domain", "settings.database.version", "settings.logs.retentionDays"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := Run(infra.Deploy, tc.stack, tc.cfg(t), false)
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Empty(t, rec.Resources(), "bad input must register nothing")
		})
	}
}

// The valid stacks register resources: the empty-recording check above can
// tell the difference.
func TestValidStackRegistersResources(t *testing.T) {
	cfg, err := StackConfig("staging")
	require.NoError(t, err)
	rec, err := Run(infra.Deploy, "staging", cfg, false)
	require.NoError(t, err)
	assert.Greater(t, len(rec.Resources()), 20)
	assert.False(t, strings.Contains(strings.Join(rec.Types(), ","), "iap/brand"))
}

// The stack files in the repository hold example values: a real `up` with
// them is refused before anything is created, naming each value to replace.
func TestTheStackFilesExampleValuesAreRefusedBeforeAnyResource(t *testing.T) {
	for _, stack := range Stacks {
		t.Run(stack, func(t *testing.T) {
			cfg, err := RawStackConfig(stack)
			require.NoError(t, err)
			rec, err := Run(infra.Deploy, stack, cfg, false)
			require.Error(t, err)
			assert.Empty(t, rec.Resources(), "nothing is registered")
			for _, want := range []string{
				`gcp:project: "example-argo-` + stack + `" is an example value`,
				`argo-platform:settings.domain: "argo.`,
				`argo-platform:settings.cluster.authorizedNetworks[0].cidr: "203.0.113.0/24" is an example value`,
				`argo-platform:settings.iap.members[0]: "group:data-team@example.com" is an example value`,
			} {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}
