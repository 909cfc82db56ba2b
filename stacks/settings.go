// Package stacks composes the settings of argo-platform: what each
// Pulumi.<stack>.yaml may say is the sections the components declare
// (infra/gcp/google, infra/argo/argoproj), each with its keys, docs,
// defaults and Google's or Argo's rules; this package adds the team's
// policy: the defaults per environment, production's invariants, the
// example values, and the rules across sections. It decodes strictly and
// registers no resources.
package stacks

import (
	"strings"

	"github.com/argo-platform/argo-platform/infra/argo/argoproj"
	"github.com/argo-platform/argo-platform/infra/gcp/google"
)

// The three environments the platform is built for. Each gets its own GCP
// project and stack; their defaults differ (see Defaults).
const (
	Experimental = "experimental"
	Staging      = "staging"
	Production   = "production"
)

// Environments lists the accepted environment names in promotion order.
var Environments = []string{Experimental, Staging, Production}

// Settings is everything one stack says, after defaults are applied.
// Project and Region come from the provider keys `gcp:project` and
// `gcp:region`; everything else from the `argo-platform:settings` block.
type Settings struct {
	// Project is the GCP project id (`gcp:project`). Required.
	Project string `json:"-"`
	// Region is the GCP region (`gcp:region`). Required.
	Region string `json:"-"`

	// Environment is one of experimental, staging, production. Required; it
	// picks the defaults and is part of every resource name (argo-<env>).
	Environment string `json:"environment"`
	// Domain is the host Argo's UI is served on, e.g. argo.staging.example.com.
	// Required: the managed certificate and the Ingress rule are issued for it.
	Domain string `json:"domain"`
	// Protect puts Pulumi's `protect` on the data (cluster, database, bucket) on
	// top of the cloud's own deletion protection, and retains Argo's
	// namespaces and CRDs on delete (a namespace move or a destroy leaves
	// them, and what they hold, in the cluster). Default: production only.
	Protect bool `json:"protect"`

	// The components' sections: each type says what its keys mean and
	// checks Google's or Argo's rules about them.
	Network  google.Network    `json:"network"`
	Cluster  google.Cluster    `json:"cluster"`
	Database google.Database   `json:"database"`
	Logs     google.Logs       `json:"logs"`
	IAP      google.IAP        `json:"iap"`
	DNS      google.DNS        `json:"dns"`
	Argo     argoproj.Settings `json:"argo"`
	// Alerts is who hears about failures.
	Alerts google.Alerts `json:"alerts"`
	// Access is who may look, run and change what in Argo, person by
	// person (argo-server's sign-in with Google).
	Access argoproj.Access `json:"access"`
	// Identities are the workflow identities: each a Google service account
	// with exactly the grants listed, and a Kubernetes ServiceAccount of the
	// same name in a namespace of its own, <argo.workflowNamespace>-<name>
	// (argoproj.IdentityNamespace): a workflow runs as it by running in that
	// namespace and naming it in serviceAccountName. Default none (workflows
	// run as argo-workflow in argo.workflowNamespace).
	Identities []Identity `json:"identities"`
}

// Identity is one workflow identity: what a pipeline may do on Google Cloud.
type Identity struct {
	// Name is the Kubernetes ServiceAccount workflows name, and with the
	// environment the Google service account id (<name>-<environment>).
	Name string `json:"name"`
	// Description says what the pipelines running as it do (shown on the
	// service account).
	Description string `json:"description"`
	// Grants are its roles: projectRoles, datasets and buckets.
	google.Grants
	// Runners may run workflows as it (in its namespace): user:<e-mail>
	// or domain:<domain>, as access.runners. Default none.
	Runners []string `json:"runners"`
}

// Viewers are who may look in Argo: access.viewers, or when it is absent,
// the people and domains IAP admits that a sign-in can tell (iap.members'
// user: and domain: members, and iap.organizationDomain). Runners and
// editors may look too.
func (s Settings) Viewers() []string {
	if s.Access.Viewers != nil {
		return s.Access.Viewers
	}
	var out []string
	for _, m := range s.IAP.Members {
		if kind, rest, _ := strings.Cut(m, ":"); kind == "user" || kind == "domain" {
			out = append(out, kind+":"+strings.ToLower(rest))
		}
	}
	if d := s.IAP.OrganizationDomain; d != "" {
		out = append(out, "domain:"+d)
	}
	return out
}
