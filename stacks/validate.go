package stacks

import (
	"fmt"
	"maps"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	k8sname "k8s.io/apimachinery/pkg/util/validation"

	"github.com/argo-platform/argo-platform/infra/gcp/google"
)

var (
	regionRe   = regexp.MustCompile(`^[a-z]+-[a-z]+[0-9]+$`)
	labelRe    = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	dnsLabelRe = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)
	customTier = regexp.MustCompile(`^db-custom-([0-9]+)-([0-9]+)$`)
	hhmmRe     = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	// An address: a local part without blanks or '@', no leading, trailing
	// or doubled dot; a domain of dot-separated labels.
	emailRe     = regexp.MustCompile(`^[^@\s.]+(\.[^@\s.]+)*@([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$`)
	memberKinds = []string{"user:", "group:", "serviceAccount:", "domain:"}
)

// Accepted values, named in error messages.
var (
	releaseChannels  = []string{"RAPID", "REGULAR", "STABLE"}
	postgresVersions = []string{"POSTGRES_15", "POSTGRES_16", "POSTGRES_17", "POSTGRES_18"}
	sharedCoreTiers  = []string{"db-f1-micro", "db-g1-small"}
	// Namespaces Kubernetes and GKE keep for themselves (GKE runs Managed
	// Prometheus in gmp-system and gke-gmp-system).
	reservedNSPrefixes = []string{"kube-", "gke-", "gmp-"}
)

// Oldest Argo release line still patched upstream; 3.6 and older are end of
// life.

// Validate checks the settings of stack and returns every problem at once,
// each naming its key, the bad value and what is accepted.
func (l *Loaded) Validate(stack string) error {
	if p := l.problems(stack); len(p) > 0 {
		return p
	}
	return nil
}

// problems is every problem Validate reports, in the order found.
func (l *Loaded) problems(stack string) Problems {
	v := &problems{}
	s := l.Settings
	k := func(path string) string { return KeySettings + "." + path }

	// Identity of the stack.
	switch {
	case !slices.Contains(Environments, s.Environment) && s.Environment == stack:
		v.say(k("environment"), "%q, the stack's name (the default when the key is absent), is not an environment; set environment to one of %s", stack, strings.Join(Environments, ", "))
	case !slices.Contains(Environments, s.Environment):
		v.add(k("environment"), s.Environment, "one of "+strings.Join(Environments, ", "))
	case slices.Contains(Environments, stack) && stack != s.Environment:
		v.say(k("environment"), "%q does not match the stack %q; a stack named after an environment must be that environment", s.Environment, stack)
	}
	if s.Project == "" {
		v.say(KeyProject, "missing; set it with `pulumi config set gcp:project <project-id>`")
	} else if !google.ProjectID.MatchString(s.Project) {
		v.add(KeyProject, s.Project, "6-30 lowercase letters, digits or hyphens, starting with a letter, not ending with a hyphen")
	}
	if s.Region == "" {
		v.say(KeyRegion, "missing; set it with `pulumi config set gcp:region <region>`, e.g. asia-northeast1")
	} else if !regionRe.MatchString(s.Region) {
		v.add(KeyRegion, s.Region, "a region such as asia-northeast1 or europe-west4 (not a zone)")
	}
	if s.Domain == "" {
		v.say(k("domain"), "missing; the host Argo's UI is served on, e.g. argo.staging.yourcompany.com")
	} else if msg := checkDomain(s.Domain); msg != "" {
		v.add(k("domain"), s.Domain, msg)
	}

	// Network.
	n := s.Network
	ranges := map[string]string{
		"network.subnetCIDR":          n.SubnetCIDR,
		"network.podsCIDR":            n.PodsCIDR,
		"network.servicesCIDR":        n.ServicesCIDR,
		"network.controlPlaneCIDR":    n.ControlPlaneCIDR,
		"network.privateServicesCIDR": n.PrivateServicesCIDR,
	}
	parsed := map[string]netip.Prefix{}
	for _, path := range slices.Sorted(maps.Keys(ranges)) {
		p, err := netip.ParsePrefix(ranges[path])
		switch {
		case err != nil || !p.Addr().Is4() || p.Masked() != p:
			v.add(k(path), ranges[path], "an IPv4 network in CIDR form, e.g. 10.10.0.0/20")
		case !p.Addr().IsPrivate():
			v.add(k(path), ranges[path], "a private (RFC 1918) range")
		default:
			parsed[path] = p
		}
	}
	if p, ok := parsed["network.subnetCIDR"]; ok && p.Bits() > 29 {
		// GCP's smallest subnet; it keeps 4 addresses, leaving 4 for nodes.
		v.add(k("network.subnetCIDR"), n.SubnetCIDR, "a /29 or larger (Compute Engine's smallest subnet, 4 node addresses)")
	}
	if p, ok := parsed["network.podsCIDR"]; ok && p.Bits() > 26 {
		// Autopilot runs up to 32 Pods a node and reserves twice that many
		// addresses, a /26, for each node.
		v.add(k("network.podsCIDR"), n.PodsCIDR, "a /26 or larger (Autopilot reserves a /26 of Pod addresses for every node)")
	}
	if p, ok := parsed["network.controlPlaneCIDR"]; ok && p.Bits() != 28 {
		v.add(k("network.controlPlaneCIDR"), n.ControlPlaneCIDR, "a /28 (GKE's control-plane range size)")
	}
	if p, ok := parsed["network.privateServicesCIDR"]; ok && p.Bits() > 24 {
		v.add(k("network.privateServicesCIDR"), n.PrivateServicesCIDR, "a /24 or larger (Cloud SQL's minimum)")
	}
	paths := slices.Sorted(maps.Keys(parsed))
	for i, a := range paths {
		for _, b := range paths[i+1:] {
			if parsed[a].Overlaps(parsed[b]) {
				v.say(k(a), "%s overlaps %s (%s); the ranges must be disjoint", ranges[a], k(b), ranges[b])
			}
		}
	}

	// Cluster.
	c := s.Cluster
	if !slices.Contains(releaseChannels, c.ReleaseChannel) {
		v.add(k("cluster.releaseChannel"), c.ReleaseChannel, "one of "+strings.Join(releaseChannels, ", "))
	}
	if !hhmmRe.MatchString(c.MaintenanceStartUTC) {
		v.add(k("cluster.maintenanceStartUTC"), c.MaintenanceStartUTC, `a time of day "HH:MM" in UTC`)
	}
	if len(c.AuthorizedNetworks) == 0 {
		v.say(k("cluster.authorizedNetworks"), "empty; list the deployers' and CI's egress ranges, or `pulumi up` cannot reach the control plane")
	}
	seen := map[string]bool{}
	var authorized []netip.Prefix
	for i, an := range c.AuthorizedNetworks {
		path := fmt.Sprintf("cluster.authorizedNetworks[%d]", i)
		if strings.TrimSpace(an.Name) == "" || seen[an.Name] {
			v.add(k(path+".name"), an.Name, "a non-empty name, unique in the list")
		}
		seen[an.Name] = true
		p, err := netip.ParsePrefix(an.CIDR)
		switch {
		case err != nil || !p.Addr().Is4() || p.Masked() != p:
			v.add(k(path+".cidr"), an.CIDR, "an IPv4 network in CIDR form, e.g. 203.0.113.0/24")
		case p.Bits() == 0:
			v.add(k(path+".cidr"), an.CIDR, "a specific range; 0.0.0.0/0 would open the control plane to the internet")
		default:
			authorized = append(authorized, p)
		}
	}
	if n := unionSize(authorized); n > MaxAuthorizedAddresses {
		v.say(k("cluster.authorizedNetworks"), "together cover %d addresses, more than %d (a /16); list the egress ranges of your offices and runners, not a provider's or the internet's", n, MaxAuthorizedAddresses)
	}

	// Database.
	d := s.Database
	if msg := checkTier(d.Tier); msg != "" {
		v.add(k("database.tier"), d.Tier, msg)
	}
	if !slices.Contains(postgresVersions, d.Version) {
		v.add(k("database.version"), d.Version, "one of "+strings.Join(postgresVersions, ", "))
	}
	v.inRange(k("database.diskSizeGB"), d.DiskSizeGB, 10, 65536)
	v.inRange(k("database.backupRetentionCount"), d.BackupRetentionCount, 1, 365)
	v.inRange(k("database.logRetentionDays"), d.LogRetentionDays, 1, 7)
	v.inRange(k("database.maintenanceDay"), d.MaintenanceDay, 1, 7)
	v.inRange(k("database.maintenanceHour"), d.MaintenanceHour, 0, 23)
	if d.PointInTimeRecovery && !d.Backups {
		v.say(k("database.pointInTimeRecovery"), "true needs %s: true (point-in-time recovery replays logs onto a backup)", k("database.backups"))
	}
	if l.DatabaseAdminPassword == "" {
		v.say(KeyDatabaseAdminPassword, "missing; set it once with `pulumi config set --secret %s \"$(openssl rand -base64 24)\"`", KeyDatabaseAdminPassword)
	} else if n := utf8.RuneCountInString(l.DatabaseAdminPassword); n < 16 {
		v.say(KeyDatabaseAdminPassword, "too short (%d characters); at least 16", n)
	} else if strings.TrimSpace(l.DatabaseAdminPassword) != l.DatabaseAdminPassword {
		// Blanks at either end are a quoting slip: tools that trim them
		// would log in with another password than the Secret holds.
		v.say(KeyDatabaseAdminPassword, "starts or ends with a blank; set it again without (e.g. `openssl rand -base64 24`)")
	}

	// Logs, IAP, DNS.
	v.inRange(k("logs.retentionDays"), s.Logs.RetentionDays, 1, 3650)
	org := s.IAP.OrganizationDomain
	if org != "" {
		if msg := checkHost(org, "yourcompany.com", "IAP admits users by their organization's domain"); msg != "" {
			v.add(k("iap.organizationDomain"), org, "your organization's domain: "+msg)
			org = ""
		}
	}
	granted := map[string]int{}
	for i, m := range s.IAP.Members {
		path := k(fmt.Sprintf("iap.members[%d]", i))
		if msg := checkMember(m); msg != "" {
			v.add(path, m, msg)
			continue
		}
		if org != "" && !inOrganization(m, org) {
			v.add(path, m, fmt.Sprintf("a principal of the organization %s (iap.organizationDomain): IAP's Google-managed OAuth client admits no one from outside it", org))
			continue
		}
		// Each member is one Pulumi resource named after it: two members
		// with one name would fail part-way, after resources were created.
		key := google.IAPMemberKey(m)
		if j, dup := granted[key]; dup {
			if s.IAP.Members[j] == m {
				v.say(path, "%q is already listed as iap.members[%d]; list each member once", m, j)
			} else {
				v.say(path, "%q and iap.members[%d] (%q) would share the resource name %q; grant one of them through a group instead", m, j, s.IAP.Members[j], key)
			}
			continue
		}
		granted[key] = i
	}
	if z := s.DNS.ManagedZone; z != "" && !dnsLabelRe.MatchString(z) {
		v.add(k("dns.managedZone"), z, "a Cloud DNS zone name: lowercase letters, digits and hyphens, up to 63")
	}

	// Argo.
	a := s.Argo
	if msg := checkArgoVersion(a.Version); msg != "" {
		v.add(k("argo.version"), a.Version, msg)
	}
	const nsWant = "a lowercase DNS label, not default and not starting with kube-, gke- or gmp- (Kubernetes' and GKE's own namespaces)"
	// Kubernetes' own name rules (a namespace here also starts with a
	// letter: an RFC 1035 label).
	if len(k8sname.IsDNS1035Label(a.Namespace)) > 0 || reservedNamespace(a.Namespace) {
		v.add(k("argo.namespace"), a.Namespace, nsWant)
	}
	if len(k8sname.IsDNS1035Label(a.WorkflowNamespace)) > 0 || reservedNamespace(a.WorkflowNamespace) {
		v.add(k("argo.workflowNamespace"), a.WorkflowNamespace, nsWant)
	} else if a.WorkflowNamespace == a.Namespace {
		v.add(k("argo.workflowNamespace"), a.WorkflowNamespace, "a namespace other than argo.namespace: workflows must not reach the controller's, the server's and the database's accounts and Secrets")
	}
	for i, name := range a.WorkflowSecrets {
		path := fmt.Sprintf("argo.workflowSecrets[%d]", i)
		if len(k8sname.IsDNS1123Subdomain(name)) > 0 {
			v.add(k(path), name, "a Secret name: lowercase letters, digits, '-' and '.', up to 253 characters")
		} else if strings.HasSuffix(name, ".service-account-token") {
			// Argo's name for a ServiceAccount's token Secret: the
			// executor's may reach only Argo's own containers.
			v.add(k(path), name, "a Secret that is not a ServiceAccount's token (*.service-account-token): the executor's token reports every step's results")
		} else if j := slices.Index(a.WorkflowSecrets, name); j < i {
			v.say(k(path), "%q is already argo.workflowSecrets[%d]; list each Secret once", name, j)
		}
	}
	v.inRange(k("argo.parallelism"), a.Parallelism, 1, 10000)
	if a.Parallelism >= 1 && a.Parallelism <= 10000 {
		if a.NamespaceParallelism < 1 || a.NamespaceParallelism > a.Parallelism {
			v.add(k("argo.namespaceParallelism"), strconv.Itoa(a.NamespaceParallelism), fmt.Sprintf("a whole number from 1 to argo.parallelism (%d)", a.Parallelism))
		}
	} else {
		v.inRange(k("argo.namespaceParallelism"), a.NamespaceParallelism, 1, 10000)
	}
	v.inRange(k("argo.podBurst"), a.PodBurst, 1, 1000)
	v.inRange(k("argo.requeueSeconds"), a.RequeueSeconds, 1, 60)
	if need := math.Ceil(a.PodsPerSecond * float64(a.RequeueSeconds)); a.PodBurst >= 1 && a.PodBurst <= 1000 &&
		a.RequeueSeconds >= 1 && a.PodsPerSecond > 0 && float64(a.PodBurst) < need {
		v.say(k("argo.podBurst"), "%d is below %s × %s (%s × %d = %.0f): Argo creates a workflow's pods only when it looks at the workflow again, every requeueSeconds, at most podBurst at a time, so pods would start at %s/s, not the %s/s configured; raise podBurst to %.0f or more, or lower podsPerSecond", a.PodBurst, k("argo.podsPerSecond"), k("argo.requeueSeconds"), ftoa(a.PodsPerSecond), a.RequeueSeconds, need,
			ftoa(float64(a.PodBurst)/float64(a.RequeueSeconds)), ftoa(a.PodsPerSecond), need)
	}
	v.inRange(k("argo.workflowWorkers"), a.WorkflowWorkers, 1, 256)
	v.inRange(k("argo.apiBurst"), a.APIBurst, 1, 1000)
	v.inRange(k("argo.serverReplicas"), a.ServerReplicas, 1, 10)
	v.inRange(k("argo.archiveTTLDays"), a.ArchiveTTLDays, 1, 3650)
	v.inRange(k("argo.workflowTTLHours"), a.WorkflowTTLHours, 1, 720)
	if a.PodsPerSecond <= 0 || a.PodsPerSecond > 1000 {
		v.add(k("argo.podsPerSecond"), ftoa(a.PodsPerSecond), "a number above 0 and at most 1000")
	}
	if a.APIQPS <= 0 || a.APIQPS > 1000 {
		v.add(k("argo.apiQPS"), ftoa(a.APIQPS), "a number above 0 and at most 1000")
	}

	checkIdentities(s, v)
	for i, e := range s.Alerts.Emails {
		path := k(fmt.Sprintf("alerts.emails[%d]", i))
		if !emailRe.MatchString(e) || len(e) > 254 {
			v.add(path, e, "an e-mail address such as data-oncall@yourcompany.com")
		} else if j := slices.IndexFunc(s.Alerts.Emails, func(o string) bool { return strings.EqualFold(o, e) }); j < i {
			v.say(path, "%q is already alerts.emails[%d]; list each address once", e, j)
		}
	}

	exampleValues(s, v)

	if s.Environment == Production {
		l.productionInvariants(v)
	}
	return v.list
}

// MaxAuthorizedAddresses bounds how many addresses cluster.authorizedNetworks
// may admit together: a /16 holds any office's or runner fleet's egress
// ranges; more is a provider's space or the internet cut into pieces.
const MaxAuthorizedAddresses = 1 << 16

// unionSize counts the IPv4 addresses the prefixes cover together. Two
// prefixes either nest or are disjoint, so the union is the sum of the
// prefixes that no other one contains.
func unionSize(ps []netip.Prefix) uint64 {
	var total uint64
	for i, p := range ps {
		inside := false
		for j, q := range ps {
			if i == j {
				continue
			}
			// q contains p (an identical pair counts once: the first).
			if q.Bits() <= p.Bits() && q.Contains(p.Addr()) && (q.Bits() < p.Bits() || j < i) {
				inside = true
				break
			}
		}
		if !inside {
			total += 1 << (32 - p.Bits())
		}
	}
	return total
}

// productionInvariants are what production may not turn off.
func (l *Loaded) productionInvariants(v *problems) {
	s := l.Settings
	k := func(path string) string { return KeySettings + "." + path }
	must := func(ok bool, path, why string) {
		if !ok {
			v.say(k(path), "must be true in production (%s)", why)
		}
	}
	must(s.Database.HighAvailability, "database.highAvailability", "a regional standby survives a zone outage")
	must(s.Database.DeletionProtection, "database.deletionProtection", "the archive must survive a mistaken destroy")
	must(s.Database.Backups, "database.backups", "the archive must be restorable")
	must(s.Database.PointInTimeRecovery, "database.pointInTimeRecovery", "restores to the minute before a mistake")
	must(s.Cluster.DeletionProtection, "cluster.deletionProtection", "running workflows must survive a mistaken destroy")
	must(s.Protect, "protect", "Pulumi refuses to delete protected data")
	if slices.Contains(sharedCoreTiers, s.Database.Tier) {
		v.add(k("database.tier"), s.Database.Tier, "a dedicated-core tier (db-custom-N-M) in production; shared-core tiers have no SLA")
	}
	if len(s.IAP.Members) == 0 {
		v.say(k("iap.members"), "empty; production needs at least one member who may open the UI")
	}
	if len(s.Alerts.Emails) == 0 {
		v.say(k("alerts.emails"), "empty; production must name at least one address for its alerts (a failed batch must reach someone), e.g. [data-oncall@yourcompany.com]")
	}
	if s.Argo.ServerReplicas < 2 {
		v.add(k("argo.serverReplicas"), strconv.Itoa(s.Argo.ServerReplicas), "2 or more in production (the UI stays up while a node drains)")
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

func checkDomain(d string) string {
	return checkHost(d, "argo.staging.yourcompany.com", "the managed certificate is issued for a DNS name")
}

// checkHost is checkDomain for any host name: example is one to show, ipWhy
// says why an address will not do.
func checkHost(d, example, ipWhy string) string {
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

func checkTier(t string) string {
	const want = "db-custom-<vCPUs>-<MiB> (1 or an even number of vCPUs up to 96; memory a multiple of 256 MiB, at least 3840, 0.9 to 6.5 GiB per vCPU), or db-f1-micro / db-g1-small outside production"
	if slices.Contains(sharedCoreTiers, t) {
		return ""
	}
	m := customTier.FindStringSubmatch(t)
	if m == nil {
		return want
	}
	cpus, _ := strconv.Atoi(m[1])
	mem, _ := strconv.Atoi(m[2])
	if cpus < 1 || cpus > 96 || (cpus > 1 && cpus%2 != 0) {
		return want
	}
	if mem%256 != 0 || mem < 3840 || float64(mem) < 0.9*1024*float64(cpus) || float64(mem) > 6.5*1024*float64(cpus) {
		return want
	}
	return ""
}

func checkMember(m string) string {
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
				if checkDomain(rest) != "" {
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

// inOrganization reports whether a well-formed member belongs to the
// organization whose domain is org: users and groups by their e-mail's
// domain (or a subdomain), domain: members by the domain itself, service
// accounts always (they live in the organization's projects).
func inOrganization(m, org string) bool {
	if strings.HasPrefix(m, "serviceAccount:") {
		return true
	}
	d := memberDomain(m)
	return d == org || strings.HasSuffix(d, "."+org)
}

func checkArgoVersion(ver string) string {
	if slices.Contains(ArgoVersions, ver) {
		return ""
	}
	return "one of " + strings.Join(ArgoVersions, ", ") + " (the releases whose CRDs, RBAC and ConfigMap schema this program is checked against; see stacks.ArgoVersions)"
}

// problems collects validation problems in the order found.
type problems struct{ list Problems }

// add notes a value the key does not accept, and what it accepts.
func (p *problems) add(key, value, accepted string) {
	p.list = append(p.list, Problem{Key: key, Value: value, Accepted: accepted})
}

// say notes a problem of key that is not one value out of range: format
// and args say what is wrong.
func (p *problems) say(key, format string, args ...any) {
	p.list = append(p.list, Problem{Key: key, Why: fmt.Sprintf(format, args...)})
}

func (p *problems) inRange(key string, n, lo, hi int) {
	if n < lo || n > hi {
		p.add(key, strconv.Itoa(n), fmt.Sprintf("a whole number from %d to %d", lo, hi))
	}
}

// reservedNamespace reports whether ns belongs to Kubernetes or GKE.
func reservedNamespace(ns string) bool {
	return ns == "default" || slices.ContainsFunc(reservedNSPrefixes, func(p string) bool { return strings.HasPrefix(ns, p) })
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

var (
	predefinedRoleRe = regexp.MustCompile(`^roles/([a-z][a-zA-Z0-9]*)\.([a-zA-Z][a-zA-Z0-9]*)$`)
	datasetRe        = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	basicRoles       = []string{"roles/owner", "roles/editor", "roles/viewer", "roles/browser"}
	// IAMServices are the services whose every role changes IAM or lets
	// one account act as another.
	IAMServices = []string{"iam", "resourcemanager", "iap", "accesscontextmanager", "orgpolicy"}
)

// CheckIdentityRole says why role may not be given to a workflow identity
// ("" when it may): predefined roles of the form roles/<service>.<name>
// only; no basic role; none of a service that governs IAM or acting as
// another account (IAMServices); no administrator role (an admin can grant
// others access to what it administers); no service agent role. service,
// when not "", is the only service whose roles are accepted.
func CheckIdentityRole(role, service string) string {
	if slices.Contains(basicRoles, role) {
		return "a predefined role, not a basic role (" + strings.Join(basicRoles, ", ") + ")"
	}
	m := predefinedRoleRe.FindStringSubmatch(role)
	if m == nil {
		return "a predefined role, roles/<service>.<role>"
	}
	lower := strings.ToLower(m[2])
	switch {
	case slices.Contains(IAMServices, m[1]):
		return "a role outside " + strings.Join(IAMServices, ", ") + ": those change IAM or act as another account"
	case strings.HasSuffix(lower, "admin") || strings.HasPrefix(lower, "admin"):
		return "a role that is not an administrator's: an admin can grant others access"
	case strings.HasSuffix(lower, "serviceagent"):
		return "a role that is not a service agent's"
	case service != "" && m[1] != service:
		return "a roles/" + service + ".* role"
	}
	return ""
}

func checkIdentities(s Settings, v *problems) {
	k := func(p string) string { return KeySettings + "." + p }
	names := map[string]int{}
	for i, id := range s.Identities {
		path := fmt.Sprintf("identities[%d]", i)
		maxName := 30 - 1 - len(s.Environment)
		switch {
		case !dnsLabelRe.MatchString(id.Name) || len(id.Name) > maxName || len(id.Name) < 2:
			v.add(k(path+".name"), id.Name, fmt.Sprintf("a lowercase DNS label of 2 to %d characters (the service account id is <name>-%s, at most 30)", maxName, s.Environment))
		case strings.HasPrefix(id.Name, "argo-") || id.Name == "default":
			v.add(k(path+".name"), id.Name, "a name not starting with argo- and not default: those are the platform's")
		case strings.Contains(id.Name, "-bucket-") || strings.Contains(id.Name, "-dataset-"):
			// A grant's resource is named <identity>-bucket-<bucket>-<role>
			// (or -dataset-): such a name could be another identity's
			// grant, and the second registration would fail part-way.
			v.add(k(path+".name"), id.Name, "a name without -bucket- or -dataset- (they separate the parts of its grants' resource names)")
		default:
			if j, dup := names[id.Name]; dup {
				v.say(k(path+".name"), "%q is already identities[%d].name; each identity once", id.Name, j)
			}
			names[id.Name] = i
		}
		if d := strings.TrimSpace(id.Description); d == "" || utf8.RuneCountInString(d) > 100 {
			v.add(k(path+".description"), id.Description, "a description of what the pipelines running as it do, 1 to 100 characters")
		}
		if len(id.ProjectRoles)+len(id.Datasets)+len(id.Buckets) == 0 {
			v.say(k(path), "grants nothing; list projectRoles, datasets or buckets (workflows that need nothing run as argo-workflow)")
		}
		seen := map[string]bool{}
		dup := func(key, what string) {
			if seen[what] {
				v.say(k(key), "%s is listed twice", what)
			}
			seen[what] = true
		}
		for j, r := range id.ProjectRoles {
			key := fmt.Sprintf("%s.projectRoles[%d]", path, j)
			if msg := CheckIdentityRole(r, ""); msg != "" {
				v.add(k(key), r, msg)
			} else if strings.HasPrefix(r, "roles/storage.") {
				// On the project, a storage role reaches every bucket there,
				// the log bucket and every pipeline's logs with it.
				v.add(k(key), r, "a role of another service than storage: grant a bucket's role under buckets[] instead (a project-wide storage role reaches the log bucket)")
			}
			dup(key, "project "+r)
		}
		for j, d := range id.Datasets {
			key := fmt.Sprintf("%s.datasets[%d]", path, j)
			if !datasetRe.MatchString(d.Dataset) || len(d.Dataset) > 1024 {
				v.add(k(key+".dataset"), d.Dataset, "a BigQuery dataset id of the stack's project: letters, digits and underscores")
			}
			if msg := CheckIdentityRole(d.Role, "bigquery"); msg != "" {
				v.add(k(key+".role"), d.Role, msg)
			}
			dup(key, "dataset "+d.Dataset+" "+d.Role)
		}
		for j, b := range id.Buckets {
			key := fmt.Sprintf("%s.buckets[%d]", path, j)
			if !google.ValidBucketName(b.Bucket) {
				v.add(k(key+".bucket"), b.Bucket, "a GCS bucket name: 3 to 63 lowercase letters, digits, '-' and '_' (up to 222 with dots, 63 between dots), starting and ending with a letter or digit, not an IP address, not starting with goog or containing google")
			}
			if msg := CheckIdentityRole(b.Role, "storage"); msg != "" {
				v.add(k(key+".role"), b.Role, msg)
			}
			if logs := NamesFor(s).Bucket; b.Bucket == logs {
				// Its folder of the log bucket is every identity's already;
				// a grant on the whole bucket reaches every pipeline's logs.
				v.add(k(key+".bucket"), b.Bucket, "a bucket other than the platform's log bucket "+logs+" (each identity already has its own folder there)")
			}
			dup(key, "bucket "+b.Bucket+" "+b.Role)
		}
	}
}
