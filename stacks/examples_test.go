package stacks

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExampleValuesAreRefusedNamingWhatToReplace(t *testing.T) {
	in := valid(Staging)
	in.Project = "example-argo-staging"
	in.Settings = `{"environment":"staging","domain":"argo.staging.example.com",` +
		`"cluster":{"authorizedNetworks":[{"name":"office","cidr":"203.0.113.0/24"},{"name":"ci","cidr":"34.84.10.0/24"},{"name":"doc","cidr":"198.51.100.128/25"}]},` +
		`"iap":{"members":["group:data-team@example.com","user:a@corp.test","group:ok@acme-data.dev"]}}`
	_, err := Parse(in)
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		`gcp:project: "example-argo-staging" is an example value`,
		`settings.domain: "argo.staging.example.com" is an example value`,
		`settings.cluster.authorizedNetworks[0].cidr: "203.0.113.0/24" is an example value`,
		`settings.cluster.authorizedNetworks[2].cidr: "198.51.100.128/25" is an example value`,
		`settings.iap.members[0]: "group:data-team@example.com" is an example value`,
		`settings.iap.members[1]: "user:a@corp.test" is an example value`,
	} {
		assert.Contains(t, msg, want)
	}
	for _, fine := range []string{"authorizedNetworks[1]", "iap.members[2]"} {
		assert.NotContains(t, msg, fine, "a team's own values are not examples")
	}
	assert.Equal(t, 6, strings.Count(msg, "is an example value"))

	in = valid(Staging)
	in.Settings = `{` + validBlock + `,"iap":{"organizationDomain":"example.org"}}`
	_, err = Parse(in)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `settings.iap.organizationDomain: "example.org" is an example value`)

	in = valid(Staging)
	in.Settings = `{` + validBlock + `,"identities":[{"name":"bq-loader","description":"Loads exports",` +
		`"buckets":[{"bucket":"acme-exports","role":"roles/storage.objectViewer"},{"bucket":"example-argo-exports","role":"roles/storage.objectViewer"}]}]}`
	_, err = Parse(in)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `settings.identities[0].buckets[1].bucket: "example-argo-exports" is an example value`)
	assert.NotContains(t, err.Error(), "buckets[0]", "a team's own bucket is not an example")
}

func TestOwnValuesNextToTheExampleDomainsAreAccepted(t *testing.T) {
	for _, host := range []string{"argo.myexample.com", "example.com.au", "argo.examples.org", "testing.dev"} {
		assert.False(t, isExampleDomain(host), host)
	}
	for _, host := range []string{"example.com", "argo.example.net", "a.b.example.org", "argo.test", "x.invalid", "argo.example"} {
		assert.True(t, isExampleDomain(host), host)
	}
}

// Only a range inside a documentation range is an example value; a range
// that merely contains one is the user's own (and judged by its own rules).
func TestOnlyRangesInsideTheDocumentationRangesAreExamples(t *testing.T) {
	for cidr, example := range map[string]bool{
		"203.0.113.0/24": true, "203.0.113.64/26": true, "192.0.2.7/32": true,
		"203.0.0.0/16": false, "0.0.0.0/0": false, "198.51.0.0/16": false, "34.84.10.0/24": false,
	} {
		in := valid(Staging)
		in.Settings = `{"environment":"staging","domain":"argo.acme-data.dev","cluster":{"authorizedNetworks":[{"name":"x","cidr":"` + cidr + `"}]},"iap":{"members":["group:data@acme-data.dev"]},` + validAccess + `}`
		_, err := Parse(in)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		assert.Equal(t, example, strings.Contains(msg, "is an example value"), "%s: %s", cidr, msg)
	}
}
