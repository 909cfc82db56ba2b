package google

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/argo-platform/argo-platform/infra/setting"
)

// IAP is who may open Argo's UI through Identity-Aware Proxy (infra/gcp's
// Edge): the settings block's `iap` section.
type IAP struct {
	// Members get roles/iap.httpsResourceAccessor: user:, group:,
	// serviceAccount: or domain: principals. Required in production.
	Members []string `json:"members"`
	// OrganizationDomain is the Google Cloud organization's domain (e.g.
	// example.com). Optional. IAP with GKE's Google-managed OAuth client
	// admits only the organization's own users, so when it is set, members
	// outside it are refused before anything is created instead of being
	// granted a role they can never use.
	OrganizationDomain string `json:"organizationDomain"`
}

// DNS optionally publishes an A record for the UI's domain (infra/gcp's
// Edge): the settings block's `dns` section.
type DNS struct {
	// ManagedZone is the Cloud DNS zone name (in the same project) to publish
	// the record in. Empty: manage DNS elsewhere and point it at the static IP.
	ManagedZone string `json:"managedZone"`
}

var (
	labelRe    = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	dnsLabelRe = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)
	// An address: a local part without blanks or '@', no leading, trailing
	// or doubled dot; a domain of dot-separated labels.
	emailRe     = regexp.MustCompile(`^[^@\s.]+(\.[^@\s.]+)*@([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$`)
	memberKinds = []string{"user:", "group:", "serviceAccount:", "domain:"}
)

// Check notes a member IAM would refuse or IAP never admit, and two members
// whose grants would share a resource name.
func (p IAP) Check(r *setting.Rules) {
	org := p.OrganizationDomain
	if org != "" {
		if msg := CheckHost(org, "yourcompany.com", "IAP admits users by their organization's domain"); msg != "" {
			r.Add("organizationDomain", org, "your organization's domain: "+msg)
			org = ""
		}
	}
	granted := map[string]int{}
	for i, m := range p.Members {
		path := fmt.Sprintf("members[%d]", i)
		if msg := CheckMember(m); msg != "" {
			r.Add(path, m, msg)
			continue
		}
		if org != "" && !InOrganization(m, org) {
			r.Add(path, m, fmt.Sprintf("a principal of the organization %s (iap.organizationDomain): IAP's Google-managed OAuth client admits no one from outside it", org))
			continue
		}
		// Each member is one Pulumi resource named after it: two members
		// with one name would fail part-way, after resources were created.
		key := IAPMemberKey(m)
		if j, dup := granted[key]; dup {
			if p.Members[j] == m {
				r.Say(path, "%q is already listed as iap.members[%d]; list each member once", m, j)
			} else {
				r.Say(path, "%q and iap.members[%d] (%q) would share the resource name %q; grant one of them through a group instead", m, j, p.Members[j], key)
			}
			continue
		}
		granted[key] = i
	}
}

// Check notes a zone name Cloud DNS would refuse.
func (d DNS) Check(r *setting.Rules) {
	if z := d.ManagedZone; z != "" && !dnsLabelRe.MatchString(z) {
		r.Add("managedZone", z, "a Cloud DNS zone name: lowercase letters, digits and hyphens, up to 63")
	}
}

// CheckHost says what host name d should be ("" when it is one a
// Google-managed certificate can be issued for): example is one to show,
// ipWhy says why an address will not do.
func CheckHost(d, example, ipWhy string) string {
	want := "a lowercase host name such as " + example + ": no scheme, path, port or trailing dot, at most 63 characters"
	switch {
	case d == "":
		return "missing; " + want
	case strings.Contains(d, "://"), strings.ContainsAny(d, "/:?# "), strings.HasSuffix(d, "."), d != strings.ToLower(d):
		return want
	case len(d) > 63:
		// Google-managed certificates accept domains of at most 63 characters.
		return want
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return want
	}
	if tld := labels[len(labels)-1]; strings.Trim(tld, "0123456789") == "" {
		// No top-level domain is numeric: this is an address, or a typo.
		return "a host name, not an IP address (" + ipWhy + "); " + want
	}
	for _, l := range labels {
		if !labelRe.MatchString(l) {
			return want
		}
	}
	return ""
}

// CheckDomain is CheckHost for the UI's domain.
func CheckDomain(d string) string {
	return CheckHost(d, "argo.staging.yourcompany.com", "the managed certificate is issued for a DNS name")
}

// CheckMember says what an IAP member should be ("" when IAM takes it and
// it is not the public).
func CheckMember(m string) string {
	const want = "a lowercase principal prefixed user:, group:, serviceAccount: or domain: (never allUsers or allAuthenticatedUsers)"
	if m == "allUsers" || m == "allAuthenticatedUsers" {
		return "public access through IAP is refused; " + want
	}
	for _, p := range memberKinds {
		if rest, ok := strings.CutPrefix(m, p); ok {
			if rest != strings.ToLower(rest) {
				// IAM stores addresses in lowercase: a capital letter would
				// show as a change on every preview.
				return want
			}
			if p == "domain:" {
				if CheckDomain(rest) != "" {
					return want
				}
				return ""
			}
			if !emailRe.MatchString(rest) {
				return want
			}
			return ""
		}
	}
	return want
}

// ValidEmail reports whether e is an e-mail address IAM and Cloud
// Monitoring take.
func ValidEmail(e string) bool { return emailRe.MatchString(e) && len(e) <= 254 }

// InOrganization reports whether a well-formed member belongs to the
// organization whose domain is org: users and groups by their e-mail's
// domain (or a subdomain), domain: members by the domain itself, service
// accounts always (they live in the organization's projects).
func InOrganization(m, org string) bool {
	if strings.HasPrefix(m, "serviceAccount:") {
		return true
	}
	d := MemberDomain(m)
	return d == org || strings.HasSuffix(d, "."+org)
}

// MemberDomain is the domain a well-formed IAP member's address is in.
func MemberDomain(m string) string {
	_, rest, _ := strings.Cut(m, ":")
	if _, d, ok := strings.Cut(rest, "@"); ok {
		return d
	}
	return rest
}
