package tests

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/argo-platform/argo-platform/infra"
	"github.com/argo-platform/argo-platform/infra/gcp/google"
	"github.com/argo-platform/argo-platform/stacks"
)

// A stack file rewritten by `go run ./stacks/own` deploys with the team's
// values: the program, as the CLI hands it the file, registers the
// projects, the control plane's authorized ranges, the IAP grants, the
// alert channels and the host the team gave, and nothing of the examples.
func TestTheTeamsValuesFromOneCommandReachTheResources(t *testing.T) {
	team := stacks.Own{
		ProjectPrefix: "globex-argo",
		Domain:        "globex-data.io",
		Networks:      []google.AuthorizedNetwork{{Name: "office", CIDR: "34.84.10.0/24"}, {Name: "runner", CIDR: "35.200.1.7/32"}},
		Members:       []string{"group:data-team@globex-data.io"},
		Emails:        []string{"data-oncall@globex-data.io"},
		SSOClientID:   "731904655120-globex.apps.googleusercontent.com",
		Viewers:       []string{"domain:globex-data.io"},
		Runners:       []string{"user:lead@globex-data.io"},
		Editors:       []string{"user:lead@globex-data.io"},
	}
	for _, stack := range Stacks {
		t.Run(stack, func(t *testing.T) {
			file, err := StackFile(stack)
			require.NoError(t, err)
			own, err := stacks.SetOwn(file, stack, team)
			require.NoError(t, err)
			// experimental's example identity reads a bucket only the team
			// knows: the command names it, the team edits it.
			own = []byte(strings.ReplaceAll(string(own), "example-argo-exports", "globex-exports"))
			config, err := parseStackFile(stack, own)
			require.NoError(t, err)
			rec, err := Run(infra.Deploy, stack, config, false)
			require.NoError(t, err)

			project := "globex-argo-" + stack
			cluster := rec.Named("gcp:container/cluster:Cluster", "argo-"+stack)
			require.NotNil(t, cluster)
			assert.Equal(t, project, Str(cluster.Inputs, "project"))
			var ranges []string
			for i := range Len(cluster.Inputs, "masterAuthorizedNetworksConfig.cidrBlocks") {
				ranges = append(ranges, Str(cluster.Inputs, fmt.Sprintf("masterAuthorizedNetworksConfig.cidrBlocks[%d].cidrBlock", i)))
			}
			assert.Equal(t, []string{"34.84.10.0/24", "35.200.1.7/32"}, ranges)
			var members []string
			for _, m := range rec.OfType("gcp:iap/webIamMember:WebIamMember") {
				members = append(members, Str(m.Inputs, "member"))
				assert.Equal(t, project, Str(m.Inputs, "project"))
			}
			assert.Equal(t, []string{"group:data-team@globex-data.io"}, members)
			var emails []string
			for _, c := range rec.OfType("gcp:monitoring/notificationChannel:NotificationChannel") {
				emails = append(emails, Str(c.Inputs, "labels.email_address"))
			}
			host := map[string]string{
				"experimental": "argo.experimental.globex-data.io",
				"staging":      "argo.staging.globex-data.io",
				"production":   "argo.globex-data.io",
			}[stack]
			var cert *Registered
			for _, r := range rec.OfType("kubernetes:networking.gke.io/v1:ManagedCertificate") {
				cert = r
			}
			require.NotNil(t, cert, "a managed certificate")
			assert.Equal(t, []string{host}, Strs(cert.Inputs, "spec.domains"))
			if stack == stacks.Experimental {
				assert.Empty(t, emails, "experimental e-mails no one")
			} else {
				assert.Equal(t, []string{"data-oncall@globex-data.io"}, emails)
			}
			for _, r := range rec.Resources() {
				assert.NotContains(t, jsonString(r.Inputs.Mappable()), "example", "%s keeps an example value", r.URN)
			}
		})
	}
}
