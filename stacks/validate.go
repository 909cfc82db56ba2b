package stacks

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/argo-platform/argo-platform/infra/argo/argoproj"
	"github.com/argo-platform/argo-platform/infra/gcp/google"
	"github.com/argo-platform/argo-platform/infra/setting"
)

var (
	regionRe   = regexp.MustCompile(`^[a-z]+-[a-z]+[0-9]+$`)
	dnsLabelRe = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// Validate checks the settings of stack and returns every problem at once,
// each naming its key, the bad value and what is accepted.
func (l *Loaded) Validate(stack string) error {
	if p := l.problems(stack); len(p) > 0 {
		return p
	}
	return nil
}

// problems is every problem Validate reports, in the order found: the
// stack's own keys, each component's section by its own rules, then this
// team's rules across sections, its example values and production's
// invariants.
func (l *Loaded) problems(stack string) Problems {
	all := setting.NewRules("")
	v := all.Section(KeySettings)
	s := l.Settings

	// Identity of the stack.
	switch {
	case !slices.Contains(Environments, s.Environment) && s.Environment == stack:
		v.Say("environment", "%q, the stack's name (the default when the key is absent), is not an environment; set environment to one of %s", stack, strings.Join(Environments, ", "))
	case !slices.Contains(Environments, s.Environment):
		v.Add("environment", s.Environment, "one of "+strings.Join(Environments, ", "))
	case slices.Contains(Environments, stack) && stack != s.Environment:
		v.Say("environment", "%q does not match the stack %q; a stack named after an environment must be that environment", s.Environment, stack)
	}
	if s.Project == "" {
		all.Say(KeyProject, "missing; set it with `pulumi config set gcp:project <project-id>`")
	} else if !google.ProjectID.MatchString(s.Project) {
		all.Add(KeyProject, s.Project, "6-30 lowercase letters, digits or hyphens, starting with a letter, not ending with a hyphen")
	}
	if s.Region == "" {
		all.Say(KeyRegion, "missing; set it with `pulumi config set gcp:region <region>`, e.g. asia-northeast1")
	} else if !regionRe.MatchString(s.Region) {
		all.Add(KeyRegion, s.Region, "a region such as asia-northeast1 or europe-west4 (not a zone)")
	}
	if s.Domain == "" {
		v.Say("domain", "missing; the host Argo's UI is served on, e.g. argo.staging.yourcompany.com")
	} else if msg := google.CheckDomain(s.Domain); msg != "" {
		v.Add("domain", s.Domain, msg)
	}

	s.Network.Check(v.Section("network"))
	disjointRanges(s.Network, v)
	s.Cluster.Check(v.Section("cluster"))
	s.Database.Check(v.Section("database"))
	if l.DatabaseAdminPassword == "" {
		all.Say(KeyDatabaseAdminPassword, "missing; set it once with `pulumi config set --secret %s \"$(openssl rand -base64 24)\"`", KeyDatabaseAdminPassword)
	} else if n := utf8.RuneCountInString(l.DatabaseAdminPassword); n < 16 {
		all.Say(KeyDatabaseAdminPassword, "too short (%d characters); at least 16", n)
	} else if strings.TrimSpace(l.DatabaseAdminPassword) != l.DatabaseAdminPassword {
		// Blanks at either end are a quoting slip: tools that trim them
		// would log in with another password than the Secret holds.
		all.Say(KeyDatabaseAdminPassword, "starts or ends with a blank; set it again without (e.g. `openssl rand -base64 24`)")
	}
	s.Logs.Check(v.Section("logs"))
	s.IAP.Check(v.Section("iap"))
	s.DNS.Check(v.Section("dns"))
	s.Argo.Check(v.Section("argo"))
	checkIdentities(s, v)
	s.Alerts.Check(v.Section("alerts"))
	s.Access.Check(v.Section("access"))
	if l.SSOClientSecret == "" {
		all.Say(KeySSOClientSecret, "missing; set it once with `pulumi config set --secret %s <the client secret of access.ssoClientId>` (docs/bootstrap.md)", KeySSOClientSecret)
	}
	checkAccess(s, v)

	exampleValues(s, v)
	floors(s, v)

	if s.Environment == Production {
		l.productionInvariants(v)
	}
	return all.Problems()
}

// disjointRanges notes each pair of the network's ranges that overlap: a
// rule across the network's and the cluster's ranges.
func disjointRanges(n google.Network, v *setting.Rules) {
	type parsed struct {
		google.Range
		p netip.Prefix
	}
	var ok []parsed
	for _, r := range n.Ranges() {
		if p, good := r.Prefix(); good {
			ok = append(ok, parsed{r, p})
		}
	}
	for i, a := range ok {
		for _, b := range ok[i+1:] {
			if a.p.Overlaps(b.p) {
				v.Say("network."+a.Key, "%s overlaps %s (%s); the ranges must be disjoint", a.CIDR, v.Key("network."+b.Key), b.CIDR)
			}
		}
	}
}

// productionInvariants are what production may not turn off.
func (l *Loaded) productionInvariants(v *setting.Rules) {
	s := l.Settings
	must := func(ok bool, path, why string) {
		if !ok {
			v.Say(path, "must be true in production (%s)", why)
		}
	}
	must(s.Database.HighAvailability, "database.highAvailability", "a regional standby survives a zone outage")
	must(s.Database.DeletionProtection, "database.deletionProtection", "the archive must survive a mistaken destroy")
	must(s.Database.Backups, "database.backups", "the archive must be restorable")
	must(s.Database.PointInTimeRecovery, "database.pointInTimeRecovery", "restores to the minute before a mistake")
	must(s.Cluster.DeletionProtection, "cluster.deletionProtection", "running workflows must survive a mistaken destroy")
	must(s.Protect, "protect", "Pulumi refuses to delete protected data")
	if slices.Contains(google.SharedCoreTiers, s.Database.Tier) {
		v.Add("database.tier", s.Database.Tier, "a dedicated-core tier (db-custom-N-M) in production; shared-core tiers have no SLA")
	}
	if len(s.IAP.Members) == 0 {
		v.Say("iap.members", "empty; production needs at least one member who may open the UI")
	}
	if len(s.Alerts.Emails) == 0 {
		v.Say("alerts.emails", "empty; production must name at least one address for its alerts (a failed batch must reach someone), e.g. [data-oncall@yourcompany.com]")
	}
	if s.Argo.ServerReplicas < 2 {
		v.Add("argo.serverReplicas", strconv.Itoa(s.Argo.ServerReplicas), "2 or more in production (the UI stays up while a node drains)")
	}
}

// A Floor is the least an environment keeps of one kind of data: lowering
// a retention deletes what is older at once, so a floor is a rule like any
// other, refused naming its key.
type Floor struct {
	Key string
	Min int
	Why string
}

// Floors are the retentions production and staging may not go below.
// Production keeps what an audit or a late-noticed mistake needs; staging
// what a rehearsal of production's recovery needs (backups to restore from,
// a week of history to compare with). experimental keeps what it likes.
var Floors = map[string][]Floor{
	Production: {
		{"argo.archiveTTLDays", 90, "a quarter of archived runs for audits and for finding when a pipeline started to go wrong"},
		{"logs.retentionDays", 30, "a month of step logs: a failure noticed at the month's close still has its logs"},
		{"database.backupRetentionCount", 14, "two weeks of daily backups: a mistake noticed after a holiday can still be undone"},
		{"database.logRetentionDays", 7, "a week of point-in-time recovery, Cloud SQL's most"},
		{"logs.softDeleteDays", 7, "a week to restore a log a workflow or an operator deleted or overwrote"},
	},
	Staging: {
		{"argo.archiveTTLDays", 7, "a week of archived runs to rehearse an upgrade or a restore against"},
		{"logs.retentionDays", 7, "a week of step logs"},
		{"database.backupRetentionCount", 7, "a week of backups to rehearse a restore from"},
		{"logs.softDeleteDays", 7, "a week of deleted objects to rehearse a restore from"},
	},
}

// floors notes each retention of s below its environment's floor.
func floors(s Settings, v *setting.Rules) {
	values := map[string]int{
		"argo.archiveTTLDays":           s.Argo.ArchiveTTLDays,
		"logs.retentionDays":            s.Logs.RetentionDays,
		"database.backupRetentionCount": s.Database.BackupRetentionCount,
		"database.logRetentionDays":     s.Database.LogRetentionDays,
		"logs.softDeleteDays":           s.Logs.SoftDeleteDays,
	}
	for _, f := range Floors[s.Environment] {
		if n := values[f.Key]; n < f.Min {
			v.Add(f.Key, strconv.Itoa(n), fmt.Sprintf("%d or more in %s (%s); lowering it deletes what is older at once", f.Min, s.Environment, f.Why))
		}
	}
}

// CheckNameLimits reports every derived name that is too long for GCP. No
// valid stack reaches a limit (project ids are at most 30 characters, the
// environments are three): TestNameLimits proves it for the longest of
// each, so Validate need not check.
func CheckNameLimits(n Names, project string) []string {
	type limit struct {
		what, name string
		max        int
	}
	limits := []limit{
		{"GKE cluster name", n.Base, 40},
		{"Cloud SQL instance name", n.Base, 84},
		{"global address name", n.Base, 63},
		{"GCS bucket name", n.Bucket, 63},
		{"service account id", n.NodeAccount, 30},
	}
	for _, a := range []Account{n.Controller, n.Server, n.Workflow} {
		limits = append(limits,
			limit{"service account id", a.ID, 30},
			limit{"IAM database user (PostgreSQL's 63-byte identifier limit)", google.DatabaseUser(a.Email(project)), 63},
		)
	}
	var out []string
	for _, l := range limits {
		if len(l.name) > l.max {
			out = append(out, fmt.Sprintf("%s %q is %d characters, over GCP's limit of %d; use a shorter %s or environment", l.what, l.name, len(l.name), l.max, KeyProject))
		}
	}
	return out
}

func checkIdentities(s Settings, v *setting.Rules) {
	names := map[string]int{}
	logs := NamesFor(s).Bucket
	for i, id := range s.Identities {
		r := v.Section(fmt.Sprintf("identities[%d]", i))
		maxName := 30 - 1 - len(s.Environment)
		switch {
		case !dnsLabelRe.MatchString(id.Name) || len(id.Name) > maxName || len(id.Name) < 2:
			r.Add("name", id.Name, fmt.Sprintf("a lowercase DNS label of 2 to %d characters (the service account id is <name>-%s, at most 30)", maxName, s.Environment))
		case strings.HasPrefix(id.Name, "argo-") || id.Name == "default":
			r.Add("name", id.Name, "a name not starting with argo- and not default: those are the platform's")
		case strings.Contains(id.Name, "-bucket-") || strings.Contains(id.Name, "-dataset-") || strings.Contains(id.Name, "-secret-"):
			// A grant's resource is named <identity>-bucket-<bucket>-<role>
			// (or -dataset-, -secret-): such a name could be another
			// identity's grant, and the second registration would fail
			// part-way.
			r.Add("name", id.Name, "a name without -bucket-, -dataset- or -secret- (they separate the parts of its grants' resource names)")
		default:
			// Its workflows run in a namespace of its own.
			ns := IdentityNamespace(s, id)
			if problem := argoproj.NamespaceProblem(ns); problem != "" || ns == s.Argo.Namespace {
				if problem == "" {
					problem = "it is argo.namespace, Argo's own"
				}
				r.Add("name", id.Name, fmt.Sprintf("a name that makes its namespace <argo.workflowNamespace>-<name> (%s) a namespace of its own, at most 63 characters (%s)", ns, problem))
				break
			}
			if j, dup := names[id.Name]; dup {
				r.Say("name", "%q is already identities[%d].name; each identity once", id.Name, j)
			}
			names[id.Name] = i
		}
		if d := strings.TrimSpace(id.Description); d == "" || utf8.RuneCountInString(d) > 100 {
			r.Add("description", id.Description, "a description of what the pipelines running as it do, 1 to 100 characters")
		}
		if id.Grants.Empty() {
			r.Say("", "grants nothing; list projectRoles, datasets, buckets or secrets (workflows that need nothing run as argo-workflow)")
		}
		id.Grants.Check(r, logs)
	}
}

// checkAccess checks the access lists across sections: someone may look,
// every identity's runners are people or domains, and every editor may run
// somewhere (editors change schedules only where they may run).
func checkAccess(s Settings, v *setting.Rules) {
	if s.Access.Viewers == nil && len(s.Viewers()) == 0 {
		v.Say("access.viewers", "absent, and iap.members names no user: or domain: a sign-in can match (Google's ID token names no groups) and iap.organizationDomain is not set; list who may look, e.g. [domain:yourcompany.com]")
	}
	runs := map[string]bool{}
	for _, m := range s.Access.Runners {
		runs[m] = true
	}
	for i, id := range s.Identities {
		argoproj.CheckMembers(v.Section(fmt.Sprintf("identities[%d]", i)), "runners", id.Runners)
		for _, m := range id.Runners {
			runs[m] = true
		}
	}
	for i, m := range s.Access.Editors {
		if argoproj.MemberProblem(m) == "" && !runs[m] {
			v.Say(fmt.Sprintf("access.editors[%d]", i), "%q may run nowhere, so may change nothing (editors change schedules and templates only where they may run); list it in access.runners or an identity's runners", m)
		}
	}
	if s.Environment == Production {
		if len(s.Access.Editors) == 0 {
			v.Say("access.editors", "empty; production needs at least one person who may change its CronWorkflows and WorkflowTemplates, e.g. [user:data-lead@yourcompany.com]")
		}
		for i, id := range s.Identities {
			if len(id.Runners) == 0 {
				v.Say(fmt.Sprintf("identities[%d].runners", i), "empty; in production someone must be allowed to run as %s, or remove the identity", id.Name)
			}
		}
	}
}
