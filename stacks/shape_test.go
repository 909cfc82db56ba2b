package stacks

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/argo-platform/argo-platform/infra/gcp/google"
	"github.com/stretchr/testify/require"
)

// withSettings is a valid staging input with its settings block replaced.
func withSettings(settings string) Input {
	in := valid(Staging)
	in.Settings = settings
	return in
}

const validBlock = `"environment":"staging","domain":"argo.acme-data.dev","cluster":{"authorizedNetworks":[{"name":"ci","cidr":"34.84.10.0/24"}]},` + validAccess

func TestAKeyWithNoValueIsRefusedNotDefaulted(t *testing.T) {
	for _, tc := range []struct{ settings, want string }{
		{`{` + validBlock + `,"logs":{"retentionDays":null}}`, "argo-platform:settings.logs.retentionDays: written with no value; give it a whole number, or remove the key"},
		{`{` + validBlock + `,"database":null}`, "argo-platform:settings.database: written with no value; give it a mapping"},
		{`{` + validBlock + `,"iap":{"members":[null]}}`, "argo-platform:settings.iap.members[0]: written with no value; want a string"},
	} {
		_, err := Parse(withSettings(tc.settings))
		require.Error(t, err, tc.settings)
		assert.Contains(t, err.Error(), tc.want)
	}
	_, err := Parse(withSettings("null"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "argo-platform:settings: missing")
}

func TestWrongTypesNameTheKeyInTheStackFilesWords(t *testing.T) {
	for _, tc := range []struct{ settings, want string }{
		{`{` + validBlock + `,"argo":{"parallelism":[1]}}`, "argo-platform:settings.argo.parallelism: got a list, want a whole number"},
		{`{` + validBlock + `,"argo":{"parallelism":2.5}}`, "argo-platform:settings.argo.parallelism: got a number, want a whole number"},
		{`{` + validBlock + `,"protect":"yes"}`, "argo-platform:settings.protect: got a string, want a boolean (true or false)"},
		{`{` + validBlock + `,"iap":{"members":"group:a@acme-data.dev"}}`, "argo-platform:settings.iap.members: got a string, want a list"},
		{`{` + validBlock + `,"logs":5}`, "argo-platform:settings.logs: got a whole number, want a mapping"},
		{`["environment"]`, "argo-platform:settings: got a list; want a mapping of settings"},
		{`"staging"`, "argo-platform:settings: got a string; want a mapping of settings"},
		{`staging`, "argo-platform:settings: got a string; want a mapping of settings"},
	} {
		_, err := Parse(withSettings(tc.settings))
		require.Error(t, err, tc.settings)
		assert.Contains(t, err.Error(), tc.want)
		assert.NotContains(t, err.Error(), "json:", "no JSON decoder wording for a YAML file")
	}
}

// An unknown key, a type error and a broken rule are all reported in one
// run, and a malformed key is not reported twice.
func TestEveryKindOfProblemIsReportedTogether(t *testing.T) {
	in := valid(Production)
	in.Settings = `{"environment":"production","domain":5,"databse":{},"database":{"highAvailability":false},"argo":{"parallelism":"many"},` +
		`"cluster":{"authorizedNetworks":[{"name":"ci","cidr":"34.84.10.0/24","note":"x"}]},"iap":{"members":["group:data@acme-data.dev"]}}`
	_, err := Parse(in)
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		"argo-platform:settings.databse: unknown key",
		"argo-platform:settings.cluster.authorizedNetworks[0].note: unknown key",
		"argo-platform:settings.argo.parallelism: got a string, want a whole number",
		"argo-platform:settings.domain: got a whole number, want a string",
		"argo-platform:settings.database.highAvailability",
	} {
		assert.Contains(t, msg, want)
	}
	for _, key := range []string{"settings.argo.parallelism", "settings.domain"} {
		assert.Equal(t, 1, strings.Count(msg, key), "the malformed %s is reported once, not again by its rule:\n%s", key, msg)
	}
}

func TestADomainIsAHostNameNotAnAddress(t *testing.T) {
	for _, d := range []string{"10.0.0.1", "203.0.113.7", "argo.example.123"} {
		assert.Contains(t, google.CheckDomain(d), "not an IP address", d)
	}
	for _, d := range []string{"argo.acme-data.dev", "1.acme-data.dev", "argo.123.acme-data.dev"} {
		assert.Empty(t, google.CheckDomain(d), d)
	}
}

func TestThePasswordLengthCountsCharacters(t *testing.T) {
	in := valid(Staging)
	in.DatabaseAdminPassword = strings.Repeat("é", 8) // 8 characters, 16 bytes
	_, err := Parse(in)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "databaseAdminPassword: too short (8 characters); at least 16")
	in.DatabaseAdminPassword = strings.Repeat("é", 16)
	_, err = Parse(in)
	assert.NoError(t, err, "16 characters are enough, whatever their bytes")
}

func TestIAPMembersMapToDistinctResources(t *testing.T) {
	for _, tc := range []struct {
		members []string
		want    string
	}{
		{[]string{"user:a.b@acme-data.dev", "user:a-b@acme-data.dev"}, `iap.members[1]: "user:a-b@acme-data.dev" and iap.members[0] ("user:a.b@acme-data.dev") would share the resource name`},
		{[]string{"group:data@acme-data.dev", "group:data@acme-data.dev"}, `iap.members[1]: "group:data@acme-data.dev" is already listed as iap.members[0]`},
		{[]string{"user:Alice@acme-data.dev"}, `iap.members[0]: invalid value "user:Alice@acme-data.dev"; accepted: a lowercase principal`},
	} {
		in := valid(Staging)
		in.Settings = `{` + validBlock + `,"iap":{"members":["` + strings.Join(tc.members, `","`) + `"]}}`
		_, err := Parse(in)
		require.Error(t, err, tc.members)
		assert.Contains(t, err.Error(), tc.want)
	}
	in := valid(Staging)
	in.Settings = `{` + validBlock + `,"iap":{"members":["user:a@acme-data.dev","user:b@acme-data.dev","group:a@acme-data.dev"]}}`
	_, err := Parse(in)
	assert.NoError(t, err, "distinct members are accepted")
}

func TestNamespaceParallelismIsBoundedByParallelism(t *testing.T) {
	in := valid(Staging)
	in.Settings = `{` + validBlock + `,"argo":{"parallelism":-1,"namespaceParallelism":5}}`
	_, err := Parse(in)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `argo.parallelism: invalid value "-1"; accepted: a whole number from 1 to 10000`)
	assert.NotContains(t, err.Error(), "namespaceParallelism", "5 is fine while parallelism itself is wrong")
	in.Settings = `{` + validBlock + `,"argo":{"parallelism":10,"namespaceParallelism":11}}`
	_, err = Parse(in)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `argo.namespaceParallelism: invalid value "11"; accepted: a whole number from 1 to argo.parallelism (10)`)
	in.Settings = `{` + validBlock + `,"argo":{"parallelism":10,"namespaceParallelism":10}}`
	_, err = Parse(in)
	assert.NoError(t, err, "the edge is accepted")
}

func TestAuthorizedNetworksTogetherStayOfficeSized(t *testing.T) {
	networks := func(cidrs ...string) Input {
		var list []string
		for i, c := range cidrs {
			list = append(list, fmt.Sprintf(`{"name":"n%d","cidr":%q}`, i, c))
		}
		return withSettings(`{"environment":"staging","domain":"argo.acme-data.dev","cluster":{"authorizedNetworks":[` + strings.Join(list, ",") + `]},` + validAccess + `}`)
	}
	for _, bad := range [][]string{
		{"0.0.0.0/1", "128.0.0.0/1"},       // the internet in two halves
		{"203.0.0.0/15"},                   // one range wider than a /16
		{"198.18.0.0/16", "34.84.10.0/24"}, // a /16 and more
	} {
		_, err := Parse(networks(bad...))
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), "argo-platform:settings.cluster.authorizedNetworks: together cover", bad)
	}
	for _, ok := range [][]string{
		{"198.18.0.0/16"},                  // the edge: exactly a /16
		{"198.18.0.0/16", "198.18.5.0/24"}, // nested ranges count once
		{"34.84.10.0/24", "34.84.10.0/24"},
		{"34.84.10.7/32", "35.190.0.0/24"},
	} {
		_, err := Parse(networks(ok...))
		assert.NoError(t, err, ok)
	}
}

func TestMembersOutsideTheOrganizationAreRefused(t *testing.T) {
	members := func(org string, ms ...string) Input {
		return withSettings(`{` + validBlock + `,"iap":{"organizationDomain":"` + org + `","members":["` + strings.Join(ms, `","`) + `"]}}`)
	}
	_, err := Parse(members("acme-data.dev", "user:a@acme-data.dev", "group:data@eu.acme-data.dev", "domain:acme-data.dev",
		"serviceAccount:ci@acme-ops.iam.gserviceaccount.com"))
	assert.NoError(t, err, "the organization's users, groups, subdomains, domain and service accounts")
	for _, outside := range []string{"user:a@gmail.com", "group:x@example.org", "domain:notacme-data.dev", "user:a@badacme-data.dev"} {
		_, err := Parse(members("acme-data.dev", "user:a@acme-data.dev", outside))
		require.Error(t, err, outside)
		assert.Contains(t, err.Error(), `argo-platform:settings.iap.members[1]: invalid value "`+outside+`"; accepted: a principal of the organization acme-data.dev`)
	}
	_, err = Parse(members("https://acme-data.dev", "user:a@acme-data.dev"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "argo-platform:settings.iap.organizationDomain")
	_, err = Parse(members("", "user:a@gmail.com"))
	assert.NoError(t, err, "no organization named, no restriction")
}

func TestKeysOfTheProjectNamespaceTheProgramDoesNotReadAreRefused(t *testing.T) {
	keys := configKeys(`{"gcp:project":"p","gcp:region":"r","argo-platform:settings":"{}","argo-platform:databaseAdminPassword":"x","argo-platform:setings":"{}","kubernetes:context":"c"}`)
	assert.Equal(t, []string{"argo-platform:databaseAdminPassword", "argo-platform:setings", "argo-platform:settings", "gcp:project", "gcp:region", "kubernetes:context"}, keys)
	in := valid(Staging)
	in.ConfigKeys = keys
	_, err := Parse(in)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "argo-platform:setings: unknown key")
	assert.NotContains(t, err.Error(), "gcp:region: unknown", "other namespaces are the providers' business")
	assert.Nil(t, configKeys(""), "no configuration handed over: nothing to check")
}

// The message's count is the number of problems it lists, one a line.
func TestTheProblemCountMatchesTheList(t *testing.T) {
	in := valid(Production)
	in.Region = ""
	in.Settings = `{"environment":"production","domain":5,"databse":{},"cluster":{"authorizedNetworks":[{"name":"ci","cidr":"34.84.10.0/24"}]}}`
	_, err := Parse(in)
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	listed := len(lines) - 1
	require.Greater(t, listed, 2, err.Error())
	assert.Equal(t, fmt.Sprintf("%d problems in the stack configuration; nothing was created:", listed), lines[0])
	var p Problems
	require.ErrorAs(t, err, &p)
	assert.Len(t, p, listed)

	in = valid(Staging)
	in.Region = ""
	_, err = Parse(in)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "1 problem in the stack configuration; nothing was created:\n  gcp:region: missing"), err.Error())
}

func TestSubnetAndPodRangesFitAtLeastOneNode(t *testing.T) {
	network := func(subnet, pods string) Input {
		return withSettings(`{` + validBlock + `,"network":{"subnetCIDR":"` + subnet + `","podsCIDR":"` + pods + `"}}`)
	}
	_, err := Parse(network("10.10.0.0/29", "10.20.0.0/26"))
	assert.NoError(t, err, "the edges are accepted")
	_, err = Parse(network("10.10.0.0/30", "10.20.0.0/27"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `network.subnetCIDR: invalid value "10.10.0.0/30"; accepted: a /29 or larger`)
	assert.Contains(t, err.Error(), `network.podsCIDR: invalid value "10.20.0.0/27"; accepted: a /26 or larger`)
}

// A malformed list item is dropped before the rules run; the problems the
// rules find in later items still name those items' places in the file.
func TestProblemsInAListKeepTheirIndexAfterAMalformedItem(t *testing.T) {
	_, err := Parse(withSettings(`{` + validBlock + `,"iap":{"members":[5,"allUsers"]},"argo":{"workflowSecrets":[null,"ok",5,"Bad_Name"]},` +
		`"identities":[7,{"name":"loader","description":"d","buckets":[null,{"bucket":"Acme","role":"roles/storage.objectViewer"}]}]}`))
	require.Error(t, err)
	for _, want := range []string{
		"argo-platform:settings.iap.members[0]: got a whole number",
		`argo-platform:settings.iap.members[1]: invalid value "allUsers"`,
		"argo-platform:settings.argo.workflowSecrets[0]: written with no value",
		"argo-platform:settings.argo.workflowSecrets[2]: got a whole number",
		`argo-platform:settings.argo.workflowSecrets[3]: invalid value "Bad_Name"`,
		"argo-platform:settings.identities[0]: got a whole number",
		"argo-platform:settings.identities[1].buckets[0]: written with no value",
		`argo-platform:settings.identities[1].buckets[1].bucket: invalid value "Acme"`,
	} {
		assert.Contains(t, err.Error(), want)
	}
}

// A stack file without its settings block still hears about the keys
// beside it.
func TestAMissingSettingsBlockHidesNoOtherProblem(t *testing.T) {
	in := valid(Staging)
	in.Settings = ""
	in.Project = "example-argo-staging"
	in.DatabaseAdminPassword = ""
	_, err := Parse(in)
	require.Error(t, err)
	for _, want := range []string{"argo-platform:settings: missing", `gcp:project: "example-argo-staging" is an example value`, "argo-platform:databaseAdminPassword"} {
		assert.Contains(t, err.Error(), want)
	}
	assert.NotContains(t, err.Error(), "argo-platform:settings.", "no rule reports a default of the missing block")
}

// A password with blanks at either end (a quoting slip, 16 spaces) is
// refused; blanks inside are the user's.
func TestAPasswordWithBlanksAtItsEndsIsRefused(t *testing.T) {
	for pw, ok := range map[string]bool{
		strings.Repeat(" ", 16): false, " 0123456789abcdef": false, "0123456789abcdef\n": false,
		"0123456789 abcdef": true,
	} {
		in := valid(Staging)
		in.DatabaseAdminPassword = pw
		_, err := Parse(in)
		if ok {
			assert.NoError(t, err, "%q", pw)
		} else if assert.Error(t, err, "%q", pw) {
			assert.Contains(t, err.Error(), "databaseAdminPassword: starts or ends with a blank")
		}
	}
}

// A stack not named after an environment must say which it is; the
// message says where the value it refuses came from.
func TestAStackNamedOtherwiseMustNameItsEnvironment(t *testing.T) {
	in := valid(Staging)
	in.Stack = "dev"
	in.Settings = `{"domain":"argo.acme-data.dev","cluster":{"authorizedNetworks":[{"name":"ci","cidr":"34.84.10.0/24"}]},` + validAccess + `}`
	_, err := Parse(in)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `argo-platform:settings.environment: "dev", the stack's name (the default when the key is absent), is not an environment; set environment to one of experimental, staging, production`)
	in.Settings = `{"environment":"staging","domain":"argo.acme-data.dev","cluster":{"authorizedNetworks":[{"name":"ci","cidr":"34.84.10.0/24"}]},"iap":{"members":["group:data@acme-data.dev"]},` + validAccess + `}`
	_, err = Parse(in)
	assert.NoError(t, err, "a stack of any name with its environment set")
}

// The organization's domain is judged as what it is, not as the UI's host.
func TestAnOrganizationDomainThatIsAnAddressSaysWhy(t *testing.T) {
	_, err := Parse(withSettings(`{` + validBlock + `,"iap":{"organizationDomain":"10.0.0.1","members":["group:data@acme-data.dev"]}}`))
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, `argo-platform:settings.iap.organizationDomain: invalid value "10.0.0.1"`)
	assert.Contains(t, msg, "IAP admits users by their organization's domain")
	assert.NotContains(t, msg, "certificate")
	assert.NotContains(t, msg, "example.com", "no example the program itself refuses")
}

// A whole number too large for any integer is reported as such, not as
// "a number".
func TestAHugeWholeNumberIsReportedAsOutOfRange(t *testing.T) {
	_, err := Parse(withSettings(`{` + validBlock + `,"argo":{"parallelism":100000000000000000000}}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "argo-platform:settings.argo.parallelism: 100000000000000000000 is beyond any value the key accepts; want a whole number in its range")
	assert.NotContains(t, err.Error(), "got a number")
}

// A workflow identity's namespace is <argo.workflowNamespace>-<name>: a
// name that would make it longer than a namespace may be, or make it Argo's
// own, is refused naming the identity's key, and the edge is accepted.
func TestAnIdentitysNamespaceIsANamespaceOfItsOwn(t *testing.T) {
	ws := strings.Repeat("w", 50)
	for _, c := range []struct {
		also map[string]any
		name string
		ok   bool
	}{
		{map[string]any{"argo.workflowNamespace": ws}, strings.Repeat("n", 12), true}, // 50 + 1 + 12 = 63
		{map[string]any{"argo.workflowNamespace": ws}, strings.Repeat("n", 13), false},
		{map[string]any{"argo.workflowNamespace": "wf", "argo.namespace": "wf-ld"}, "ld", false},
		{map[string]any{"argo.workflowNamespace": "wf", "argo.namespace": "wf-ld"}, "le", true},
	} {
		_, err := Parse(withValues(t, Staging, c.also, "identities", []any{identity(c.name, nil)}))
		if c.ok {
			assert.NoError(t, err, "%v %s", c.also, c.name)
			continue
		}
		require.Error(t, err, "%v %s", c.also, c.name)
		assert.Contains(t, err.Error(), `settings.identities[0].name: invalid value "`+c.name+`"; accepted: a name that makes its namespace <argo.workflowNamespace>-<name>`)
		assert.Equal(t, 1, strings.Count(err.Error(), "settings."), "only the name is at fault: %s", err)
	}
}

// Who may do what is people and domains, each list checked, production's
// needed roles refused empty, and an editor who may run nowhere refused:
// each naming its key.
func TestAccessListsAreRefusedNamingTheirKey(t *testing.T) {
	for _, c := range []struct {
		env  string
		also map[string]any
		want string
	}{
		{Staging, map[string]any{"access.viewers": []any{"group:data@acme-data.dev"}}, `settings.access.viewers[0]: invalid value "group:data@acme-data.dev"; accepted: user:<e-mail> or domain:<domain>`},
		{Staging, map[string]any{"access.runners": []any{"user:Lead@acme-data.dev"}, "access.editors": []any{}}, `settings.access.runners[0]: invalid value "user:Lead@acme-data.dev"`},
		{Staging, map[string]any{"access.ssoClientId": "argo-server"}, `settings.access.ssoClientId: invalid value "argo-server"; accepted: the client id of the OAuth client made for argo-server`},
		{Staging, map[string]any{"access.editors": []any{"user:boss@acme-data.dev"}}, `settings.access.editors[0]: "user:boss@acme-data.dev" may run nowhere`},
		{Staging, map[string]any{"access.viewers": nil, "iap.members": []any{"group:data@acme-data.dev"}}, `settings.access.viewers: absent, and iap.members names no user: or domain: a sign-in can match`},
		{Production, map[string]any{"access.editors": []any{}}, `settings.access.editors: empty; production needs at least one person who may change its CronWorkflows and WorkflowTemplates`},
		{Production, map[string]any{"identities": []any{identity("ld", nil)}}, `settings.identities[0].runners: empty; in production someone must be allowed to run as ld`},
	} {
		in := valid(c.env)
		for k, v := range c.also {
			if v == nil {
				in = withoutKey(t, in, k)
				continue
			}
			in = setValue(t, in, k, v)
		}
		_, err := Parse(in)
		if assert.Error(t, err, c.want) {
			assert.Contains(t, err.Error(), c.want)
		}
	}
	// The edges: a domain views, an identity's runner may edit, and with no
	// viewers listed the IAP members' people and domains look.
	in := setValue(t, valid(Production), "identities", []any{identity("ld", func(m map[string]any) { m["runners"] = []any{"user:lead@acme-data.dev"} })})
	l, err := Parse(in)
	require.NoError(t, err)
	assert.Equal(t, []string{"domain:acme-data.dev"}, l.Viewers())
	in = withoutKey(t, valid(Staging), "access.viewers")
	in = setValue(t, in, "iap.members", []any{"user:ann@acme-data.dev", "group:x@acme-data.dev", "domain:acme-data.dev"})
	l, err = Parse(in)
	require.NoError(t, err)
	assert.Equal(t, []string{"user:ann@acme-data.dev", "domain:acme-data.dev"}, l.Viewers())
}

// withoutKey is in with the settings key (dotted) removed.
func withoutKey(t *testing.T, in Input, key string) Input {
	t.Helper()
	return setValue(t, in, key, absent)
}
