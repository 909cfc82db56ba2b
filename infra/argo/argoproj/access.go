package argoproj

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/argo-platform/argo-platform/infra/setting"
)

// Access is who may do what in Argo's UI and API, by the e-mail address a
// person signs in to Google with: the settings block's `access` section.
// argo-server signs each person in with Google (OpenID Connect) and acts,
// for each request, as a Kubernetes account its rules pick for that person
// in that namespace (Argo's SSO RBAC, delegated to the request's
// namespace), so the API server, not the UI, enforces these lists. Members
// are user:<e-mail> or domain:<domain>: Google's ID token names a person's
// e-mail, never their groups.
type Access struct {
	// ClientID is the OAuth client argo-server signs people in through,
	// made once by hand (docs/bootstrap.md: no API creates one); its
	// secret is the stack secret ssoClientSecret. Required.
	ClientID string `json:"ssoClientId"`
	// Viewers may look: workflows, their logs, the archive, CronWorkflows
	// and WorkflowTemplates of every workflow namespace. Default: the
	// users and domains of iap.members and iap.organizationDomain.
	Viewers []string `json:"viewers"`
	// Runners may submit, stop, retry and resubmit workflows that run as
	// the workflow account (in argo.workflowNamespace). Each identity's
	// runners are listed on the identity. Runners may also look.
	Runners []string `json:"runners"`
	// Editors may also create, change and delete CronWorkflows,
	// WorkflowTemplates and event bindings, and delete workflows (the
	// archive's too), in the namespaces where they may run: an editor who
	// may not run as an identity cannot schedule a workflow as it either.
	Editors []string `json:"editors"`
}

var (
	clientIDRe = regexp.MustCompile(`^[0-9]+-[a-z0-9]+\.apps\.googleusercontent\.com$`)
	personRe   = regexp.MustCompile(`^[a-z0-9._%+-]+@([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$`)
	domainRe   = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$`)
)

// MemberProblem says what is wrong with m as a member of an access list,
// or "" if nothing is.
func MemberProblem(m string) string {
	const want = "user:<e-mail> or domain:<domain>, lowercase (Google's ID token names a person's e-mail, not their groups)"
	switch kind, rest, _ := strings.Cut(m, ":"); kind {
	case "user":
		if personRe.MatchString(rest) {
			return ""
		}
	case "domain":
		if domainRe.MatchString(rest) {
			return ""
		}
	case "group":
		return want + "; list the group's people, or its domain"
	}
	return want
}

// Check notes a client id Google would not issue and a member no sign-in
// can match.
func (a Access) Check(r *setting.Rules) {
	if !clientIDRe.MatchString(a.ClientID) {
		r.Add("ssoClientId", a.ClientID, "the client id of the OAuth client made for argo-server (<number>-<id>.apps.googleusercontent.com; docs/bootstrap.md)")
	}
	for _, l := range []struct {
		key     string
		members []string
	}{{"viewers", a.Viewers}, {"runners", a.Runners}, {"editors", a.Editors}} {
		CheckMembers(r, l.key, l.members)
	}
}

// CheckMembers checks the access list members at key.
func CheckMembers(r *setting.Rules, key string, members []string) {
	seen := map[string]int{}
	for i, m := range members {
		path := fmt.Sprintf("%s[%d]", key, i)
		if msg := MemberProblem(m); msg != "" {
			r.Add(path, m, msg)
			continue
		}
		if j, dup := seen[m]; dup {
			r.Say(path, "%q is already %s[%d]; list each member once", m, key, j)
		}
		seen[m] = i
	}
}

// Rule is Argo's SSO RBAC rule (an expression on the person's ID token
// claims) that holds for exactly members: their e-mail addresses, and
// every address of their domains. No member: a rule that never holds.
func Rule(members []string) string {
	var people, domains []string
	for _, m := range members {
		kind, rest, _ := strings.Cut(m, ":")
		switch kind {
		case "user":
			people = append(people, strconv.Quote(rest))
		case "domain":
			domains = append(domains, "lower(email) endsWith "+strconv.Quote("@"+rest))
		}
	}
	terms := []string{"lower(email) in [" + strings.Join(people, ", ") + "]"}
	return strings.Join(append(terms, domains...), " || ")
}
