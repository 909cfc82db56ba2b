package stacks

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/argo-platform/argo-platform/infra/gcp/google"
	"github.com/argo-platform/argo-platform/infra/setting"
)

// The stack files in this repository hold example values that only stand
// for a team's own: a project id starting with example-, names under the
// domains reserved for documentation (RFC 2606 and RFC 6761) and the
// address ranges reserved for documentation (RFC 5737). A real `up` with
// them would create the network, the database and the cluster before
// failing, so they are refused first, each named with what to put instead.
var (
	exampleProjectPrefix = "example-"
	// exampleClientID starts the OAuth client id the stack files ship with.
	exampleClientID = "000000000000-"
	exampleDomains  = []string{"example.com", "example.net", "example.org"}
	exampleTLDs     = []string{"example", "test", "invalid", "localhost"}
	exampleRanges   = []netip.Prefix{
		netip.MustParsePrefix("192.0.2.0/24"),
		netip.MustParsePrefix("198.51.100.0/24"),
		netip.MustParsePrefix("203.0.113.0/24"),
	}
)

// isExampleDomain reports whether host is, or is under, a domain reserved
// for documentation.
func isExampleDomain(host string) bool {
	for _, d := range exampleDomains {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	labels := strings.Split(host, ".")
	for _, tld := range exampleTLDs {
		if labels[len(labels)-1] == tld {
			return true
		}
	}
	return false
}

// exampleValues reports every example value in s, naming its key and what
// to put instead.
func exampleValues(s Settings, v *setting.Rules) {
	k := v.Key
	replace := func(key, value, why, want string) {
		v.Note(Problem{Key: key, Value: value, Example: true,
			Why: fmt.Sprintf("%q is an example value (%s); replace it with %s", value, why, want)})
	}
	if strings.HasPrefix(s.Project, exampleProjectPrefix) {
		replace(KeyProject, s.Project, "the stack files ship with it", "your GCP project's id")
	}
	if isExampleDomain(s.Domain) {
		replace(k("domain"), s.Domain, "a domain reserved for documentation", "a host name in a domain you control")
	}
	for i, an := range s.Cluster.AuthorizedNetworks {
		p, err := netip.ParsePrefix(an.CIDR)
		if err != nil {
			continue // reported by its own rule
		}
		for _, r := range exampleRanges {
			// Inside a documentation range; a wider range that merely
			// contains one (0.0.0.0/0, 203.0.0.0/16) is not an example.
			if r.Contains(p.Addr()) && p.Bits() >= r.Bits() {
				replace(k(fmt.Sprintf("cluster.authorizedNetworks[%d].cidr", i)), an.CIDR, "a range reserved for documentation", "your office's or runner's egress range")
				break
			}
		}
	}
	for i, m := range s.IAP.Members {
		if d := google.MemberDomain(m); d != "" && isExampleDomain(d) {
			replace(k(fmt.Sprintf("iap.members[%d]", i)), m, "a domain reserved for documentation", "a user or group of your organization")
		}
	}
	for i, id := range s.Identities {
		for j, b := range id.Buckets {
			if strings.HasPrefix(b.Bucket, exampleProjectPrefix) {
				// Bucket names are global: an example one could be anyone's.
				replace(k(fmt.Sprintf("identities[%d].buckets[%d].bucket", i, j)), b.Bucket, "the stack files ship with it", "a bucket the pipeline really reads")
			}
		}
	}
	for i, e := range s.Alerts.Emails {
		if _, d, ok := strings.Cut(e, "@"); ok && isExampleDomain(strings.ToLower(d)) {
			replace(k(fmt.Sprintf("alerts.emails[%d]", i)), e, "a domain reserved for documentation", "the address your team reads alerts at")
		}
	}
	if strings.HasPrefix(s.Access.ClientID, exampleClientID) {
		replace(k("access.ssoClientId"), s.Access.ClientID, "the stack files ship with it", "the client id of the OAuth client you made for argo-server (docs/bootstrap.md)")
	}
	people := func(key string, members []string) {
		for i, m := range members {
			if _, rest, _ := strings.Cut(m, ":"); isExampleDomain(rest[strings.LastIndex(rest, "@")+1:]) {
				replace(k(fmt.Sprintf("%s[%d]", key, i)), m, "a domain reserved for documentation", "a person or the domain of your organization")
			}
		}
	}
	people("access.viewers", s.Access.Viewers)
	people("access.runners", s.Access.Runners)
	people("access.editors", s.Access.Editors)
	for i, id := range s.Identities {
		people(fmt.Sprintf("identities[%d].runners", i), id.Runners)
	}
	if d := s.IAP.OrganizationDomain; d != "" && isExampleDomain(d) {
		replace(k("iap.organizationDomain"), d, "a domain reserved for documentation", "your organization's domain")
	}
}
