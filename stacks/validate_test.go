package stacks

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/argo-platform/argo-platform/infra/gcp/google"
)

func TestNameLimits(t *testing.T) {
	longest := "p" + strings.Repeat("x", 29)
	require.Regexp(t, google.ProjectID, longest, "the longest project id Validate accepts")
	require.NotRegexp(t, google.ProjectID, longest+"x")
	for _, env := range Environments {
		n := NamesFor(Settings{Project: longest, Environment: env})
		assert.Empty(t, CheckNameLimits(n, longest), "the longest project id fits in %s", env)
	}
	n := NamesFor(Settings{Project: longest, Environment: Experimental})

	n.Base = "argo-" + strings.Repeat("e", 40)
	n.Workflow.ID = "argo-wf-" + strings.Repeat("e", 30)
	problems := CheckNameLimits(n, "p"+strings.Repeat("x", 29))
	joined := strings.Join(problems, "\n")
	assert.Contains(t, joined, "GKE cluster name")
	assert.Contains(t, joined, "service account id")
	assert.Contains(t, joined, "IAM database user")
}

func TestNames(t *testing.T) {
	n := NamesFor(Settings{Project: "acme-data-stg", Environment: Staging})
	assert.Equal(t, "argo-staging", n.Base)
	assert.Equal(t, "acme-data-stg-argo-logs-staging", n.Bucket)
	email := n.Controller.Email("acme-data-stg")
	assert.Equal(t, "argo-ctrl-staging@acme-data-stg.iam.gserviceaccount.com", email)
	assert.Equal(t, "argo-ctrl-staging@acme-data-stg.iam", google.DatabaseUser(email))
}

// validAccess is an access section every environment accepts.
const validAccess = `"access":{"ssoClientId":"482915730211-acmedata.apps.googleusercontent.com","viewers":["domain:acme-data.dev"],"runners":["user:lead@acme-data.dev"],"editors":["user:lead@acme-data.dev"]}`

func valid(env string) Input {
	return Input{
		Stack:                 env,
		Project:               "acme-data-" + env[:3],
		Region:                "asia-northeast1",
		Settings:              `{"environment":"` + env + `","domain":"argo.acme-data.dev","cluster":{"authorizedNetworks":[{"name":"ci","cidr":"34.84.10.0/24"}]},"iap":{"members":["group:data@acme-data.dev"]},"alerts":{"emails":["data-oncall@acme-data.dev"]},` + validAccess + `}`,
		DatabaseAdminPassword: "0123456789abcdef",
		SSOClientSecret:       "GOCSPX-test-client-secret",
	}
}

func TestDefaultsAreValidAndOrdered(t *testing.T) {
	loaded := map[string]*Loaded{}
	for _, env := range Environments {
		l, err := Parse(valid(env))
		require.NoError(t, err, env)
		loaded[env] = l
	}
	exp, stg, prod := loaded[Experimental], loaded[Staging], loaded[Production]

	// experimental: cheap and easy to tear down.
	assert.False(t, exp.Cluster.DeletionProtection)
	assert.False(t, exp.Database.DeletionProtection)
	assert.False(t, exp.Database.Backups)
	assert.True(t, exp.Logs.ForceDestroy)
	assert.False(t, exp.Protect)
	// staging: like production, cheaper.
	assert.True(t, stg.Database.Backups)
	assert.True(t, stg.Database.DeletionProtection)
	assert.False(t, stg.Database.HighAvailability)
	// production: highly available and protected.
	assert.True(t, prod.Database.HighAvailability)
	assert.True(t, prod.Database.PointInTimeRecovery)
	assert.True(t, prod.Protect)
	assert.GreaterOrEqual(t, prod.Argo.ServerReplicas, 2)
	assert.Equal(t, "STABLE", prod.Cluster.ReleaseChannel)
	// Retention grows toward production.
	assert.Less(t, exp.Logs.RetentionDays, stg.Logs.RetentionDays)
	assert.Less(t, stg.Logs.RetentionDays, prod.Logs.RetentionDays)
	assert.Greater(t, prod.Argo.Parallelism, 10, "production runs more than the seed's 10 workflows at once")
}

func TestStackValuesOverrideDefaults(t *testing.T) {
	in := valid(Staging)
	in.Settings = `{"environment":"staging","domain":"argo.acme-data.dev","cluster":{"authorizedNetworks":[{"name":"ci","cidr":"34.84.10.0/24"}]},"database":{"tier":"db-custom-2-7680"},"argo":{"serverReplicas":3},` + validAccess + `}`
	l, err := Parse(in)
	require.NoError(t, err)
	assert.Equal(t, "db-custom-2-7680", l.Database.Tier)
	assert.Equal(t, 3, l.Argo.ServerReplicas)
	assert.True(t, l.Database.Backups, "keys not given keep the environment's default")
}

func TestEnvironmentDefaultsToTheStackName(t *testing.T) {
	in := valid(Staging)
	in.Settings = `{"domain":"argo.acme-data.dev","cluster":{"authorizedNetworks":[{"name":"ci","cidr":"34.84.10.0/24"}]},` + validAccess + `}`
	l, err := Parse(in)
	require.NoError(t, err)
	assert.Equal(t, Staging, l.Environment)
}

func TestEveryProblemIsReported(t *testing.T) {
	in := valid(Production)
	in.Project = "X"
	in.Region = ""
	in.DatabaseAdminPassword = "short"
	in.Settings = `{"environment":"production","domain":"bad domain","cluster":{"authorizedNetworks":[]},"database":{"highAvailability":false}}`
	_, err := Parse(in)
	require.Error(t, err)
	for _, want := range []string{
		"gcp:project", "gcp:region: missing", "settings.domain", "settings.cluster.authorizedNetworks: empty",
		"databaseAdminPassword: too short", "database.highAvailability: must be true in production", "iap.members: empty",
	} {
		assert.Contains(t, err.Error(), want)
	}
}
