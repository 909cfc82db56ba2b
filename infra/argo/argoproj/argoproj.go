// Package argoproj is what the Argo component takes from a stack (the
// settings block's `argo` section), with its defaults and Argo's and
// Kubernetes' rules about it: which releases this program is checked
// against, what a namespace may be called, how the controller's rate limits
// fit together. No SDK: the settings' rules run before anything is
// registered, and stacks composes this section without the cloud SDKs.
// infra/argo installs what it says.
package argoproj

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	k8sname "k8s.io/apimachinery/pkg/util/validation"

	"github.com/argo-platform/argo-platform/infra/setting"
)

// DefaultVersion is the Argo Workflows release installed unless a stack
// pins another.
const DefaultVersion = "v4.1.2"

// Versions are the Argo Workflows releases this program is checked
// against: their CRDs, the RBAC their controller and server need, and the
// ConfigMap keys they accept. v4.0.7 runs for real in the end-to-end tests
// (tools/argo pins it; tools/argo's test decodes every stack's ConfigMaps
// with its own reader), and v4.1.2, the release deployed, was checked
// against its release manifests and config package. Any other release is
// refused until it has been checked the same way and added here. v4.0.5,
// checked before, is refused since security flaws were reported for it;
// v4.0.7 has the same CRDs but for descriptions, the same RBAC, ConfigMap
// keys and database migrations.
var Versions = []string{"v4.0.7", DefaultVersion}

// Settings is the Argo Workflows install.
type Settings struct {
	// Version is the Argo release, one of Versions.
	Version string `json:"version"`
	// Namespace is Argo's home: the controller, the server, the database
	// grant Job and the Secrets they use. Workflows never run here.
	Namespace string `json:"namespace"`
	// WorkflowNamespace is where workflows run (Argo's managed namespace).
	// It holds only what a workflow may use: the workflow accounts and the
	// WorkflowSecrets. An admission policy refuses any other.
	WorkflowNamespace string `json:"workflowNamespace"`
	// WorkflowSecrets are the Secrets of WorkflowNamespace that a workflow
	// pod may mount or read into its environment; none by default.
	WorkflowSecrets []string `json:"workflowSecrets"`
	// Parallelism caps running workflows; NamespaceParallelism caps them per
	// namespace.
	Parallelism          int `json:"parallelism"`
	NamespaceParallelism int `json:"namespaceParallelism"`
	// PodsPerSecond and PodBurst are resourceRateLimit: how fast the
	// controller creates step pods.
	PodsPerSecond float64 `json:"podsPerSecond"`
	PodBurst      int     `json:"podBurst"`
	// RequeueSeconds is how soon the controller looks at a workflow again
	// after a change (Argo's DEFAULT_REQUEUE_TIME). Step pods are created
	// only then, at most PodBurst at a time, so PodBurst must cover
	// PodsPerSecond for RequeueSeconds or the rate limit is never reached.
	RequeueSeconds int `json:"requeueSeconds"`
	// WorkflowWorkers, APIQPS and APIBurst size the controller.
	WorkflowWorkers int     `json:"workflowWorkers"`
	APIQPS          float64 `json:"apiQPS"`
	APIBurst        int     `json:"apiBurst"`
	// ServerReplicas is argo-server's replica count (2+ gets a PDB).
	ServerReplicas int `json:"serverReplicas"`
	// ArchiveTTLDays is how long archived workflows stay in the database.
	ArchiveTTLDays int `json:"archiveTTLDays"`
	// ArchivedRunsPerDay is the busiest day's count of finished workflows
	// (all workflow namespaces together): with ArchiveTTLDays, the
	// archive's size argo-server is sized for (ServerMemory).
	ArchivedRunsPerDay int `json:"archivedRunsPerDay"`
	// WorkflowTTLHours is how long finished Workflow objects stay in the
	// cluster (they remain in the archive).
	WorkflowTTLHours int `json:"workflowTTLHours"`
	// SpotSteps schedules workflow steps on Spot Pods by default.
	SpotSteps bool `json:"spotSteps"`
}

// Defaults is the install an environment gets unless its stack file or its
// environment's policy says otherwise.
func Defaults() Settings {
	return Settings{
		Version:   DefaultVersion,
		Namespace: "argo",
		// Workflows run apart from Argo: nothing the platform runs on
		// (the database's admin Secret, the controller's and server's
		// accounts) is in reach of a workflow.
		WorkflowNamespace: "workflows",
		// Twice the seed's 10 running workflows: a developer's test runs
		// beside the daily batch. Most run in the workflow namespace,
		// so its cap equals the global one.
		Parallelism:          20,
		NamespaceParallelism: 20,
		// Pod creation at 10/s. Argo creates a workflow's pods only when
		// it looks at the workflow again, every RequeueSeconds, and
		// then at most PodBurst of them: the seed's burst of 1 with
		// Argo's 10 s requeue made 10/s about 0.3/s (make bench). A
		// burst of 30 covers 10/s over a 2 s requeue with room for the
		// controller's own time, so the limit is the rate reached.
		PodsPerSecond:  10,
		PodBurst:       30,
		RequeueSeconds: 2,
		// 8 workers and Argo's default API rate (qps 20, burst 30) are
		// plenty for 20 workflows; the controller stays at 250m CPU.
		WorkflowWorkers: 8,
		APIQPS:          20,
		APIBurst:        30,
		ServerReplicas:  1,
		// Archived runs are kept a week; finished Workflow objects leave
		// etcd after a day (they stay in the archive), so the controller's
		// informers do not grow with history.
		ArchiveTTLDays:   7,
		WorkflowTTLHours: 24,
		// A team's daily batch and its developers' test runs.
		ArchivedRunsPerDay: 200,
		// Steps on Autopilot Spot Pods (about 70% cheaper), retried by
		// the workflow default if a node is preempted.
		SpotSteps: true,
	}
}

// Namespaces Kubernetes and GKE keep for themselves (GKE runs Managed
// Prometheus in gmp-system and gke-gmp-system).
var reservedNSPrefixes = []string{"kube-", "gke-", "gmp-"}

// Check notes what Argo or Kubernetes would refuse, and rate limits that
// cannot be reached.
func (a Settings) Check(r *setting.Rules) {
	if !slices.Contains(Versions, a.Version) {
		r.Add("version", a.Version, "one of "+strings.Join(Versions, ", ")+" (the releases whose CRDs, RBAC and ConfigMap schema this program is checked against; see argoproj.Versions)")
	}
	const nsWant = "a lowercase DNS label, not default and not starting with kube-, gke- or gmp- (Kubernetes' and GKE's own namespaces)"
	// Kubernetes' own name rules (a namespace here also starts with a
	// letter: an RFC 1035 label).
	if len(k8sname.IsDNS1035Label(a.Namespace)) > 0 || reservedNamespace(a.Namespace) {
		r.Add("namespace", a.Namespace, nsWant)
	}
	if len(k8sname.IsDNS1035Label(a.WorkflowNamespace)) > 0 || reservedNamespace(a.WorkflowNamespace) {
		r.Add("workflowNamespace", a.WorkflowNamespace, nsWant)
	} else if a.WorkflowNamespace == a.Namespace {
		r.Add("workflowNamespace", a.WorkflowNamespace, "a namespace other than argo.namespace: workflows must not reach the controller's, the server's and the database's accounts and Secrets")
	}
	for i, name := range a.WorkflowSecrets {
		path := fmt.Sprintf("workflowSecrets[%d]", i)
		if len(k8sname.IsDNS1123Subdomain(name)) > 0 {
			r.Add(path, name, "a Secret name: lowercase letters, digits, '-' and '.', up to 253 characters")
		} else if strings.HasSuffix(name, ".service-account-token") {
			// Argo's name for a ServiceAccount's token Secret: the
			// executor's may reach only Argo's own containers.
			r.Add(path, name, "a Secret that is not a ServiceAccount's token (*.service-account-token): the executor's token reports every step's results")
		} else if j := slices.Index(a.WorkflowSecrets, name); j < i {
			r.Say(path, "%q is already argo.workflowSecrets[%d]; list each Secret once", name, j)
		}
	}
	r.InRange("parallelism", a.Parallelism, 1, 10000)
	if a.Parallelism >= 1 && a.Parallelism <= 10000 {
		if a.NamespaceParallelism < 1 || a.NamespaceParallelism > a.Parallelism {
			r.Add("namespaceParallelism", strconv.Itoa(a.NamespaceParallelism), fmt.Sprintf("a whole number from 1 to argo.parallelism (%d)", a.Parallelism))
		}
	} else {
		r.InRange("namespaceParallelism", a.NamespaceParallelism, 1, 10000)
	}
	r.InRange("podBurst", a.PodBurst, 1, 1000)
	r.InRange("requeueSeconds", a.RequeueSeconds, 1, 60)
	if need := math.Ceil(a.PodsPerSecond * float64(a.RequeueSeconds)); a.PodBurst >= 1 && a.PodBurst <= 1000 &&
		a.RequeueSeconds >= 1 && a.PodsPerSecond > 0 && float64(a.PodBurst) < need {
		ftoa := setting.Ftoa
		r.Say("podBurst", "%d is below %s × %s (%s × %d = %.0f): Argo creates a workflow's pods only when it looks at the workflow again, every requeueSeconds, at most podBurst at a time, so pods would start at %s/s, not the %s/s configured; raise podBurst to %.0f or more, or lower podsPerSecond", a.PodBurst, r.Key("podsPerSecond"), r.Key("requeueSeconds"), ftoa(a.PodsPerSecond), a.RequeueSeconds, need,
			ftoa(float64(a.PodBurst)/float64(a.RequeueSeconds)), ftoa(a.PodsPerSecond), need)
	}
	r.InRange("workflowWorkers", a.WorkflowWorkers, 1, 256)
	r.InRange("apiBurst", a.APIBurst, 1, 1000)
	r.InRange("serverReplicas", a.ServerReplicas, 1, 10)
	r.InRange("archiveTTLDays", a.ArchiveTTLDays, 1, 3650)
	r.InRange("archivedRunsPerDay", a.ArchivedRunsPerDay, 1, 100000)
	if a.ArchiveTTLDays >= 1 && a.ArchiveTTLDays <= 3650 && a.ArchivedRunsPerDay >= 1 && a.ArchivedRunsPerDay <= 100000 {
		if m := a.ServerMemory(); m.LimitMiB > MaxServerMemoryMiB {
			r.Say("archivedRunsPerDay", "%d a day for %s (%d days) is an archive of %d workflows, which one unbounded `argo list` builds in argo-server's memory: %d MiB, above the %d MiB this program gives it; lower %s or %s", a.ArchivedRunsPerDay, r.Key("archiveTTLDays"), a.ArchiveTTLDays, a.ArchiveCapacity(), m.LimitMiB, MaxServerMemoryMiB, r.Key("archivedRunsPerDay"), r.Key("archiveTTLDays"))
		}
	}
	r.InRange("workflowTTLHours", a.WorkflowTTLHours, 1, 720)
	if a.PodsPerSecond <= 0 || a.PodsPerSecond > 1000 {
		r.Add("podsPerSecond", setting.Ftoa(a.PodsPerSecond), "a number above 0 and at most 1000")
	}
	if a.APIQPS <= 0 || a.APIQPS > 1000 {
		r.Add("apiQPS", setting.Ftoa(a.APIQPS), "a number above 0 and at most 1000")
	}
}

// IdentityNamespace is the namespace of the workflow identity named name,
// where its account lives and its workflows run: the workflow namespace's
// name, a dash and the identity's.
func IdentityNamespace(workflowNamespace, name string) string {
	return workflowNamespace + "-" + name
}

// NamespaceProblem says what is wrong with ns as a namespace of the
// platform's, or "" if nothing is.
func NamespaceProblem(ns string) string {
	if errs := k8sname.IsDNS1035Label(ns); len(errs) > 0 {
		return strings.Join(errs, "; ")
	}
	if reservedNamespace(ns) {
		return "default and the kube-, gke- and gmp- namespaces are Kubernetes' and GKE's"
	}
	return ""
}

// reservedNamespace reports whether ns belongs to Kubernetes or GKE.
func reservedNamespace(ns string) bool {
	return ns == "default" || slices.ContainsFunc(reservedNSPrefixes, func(p string) bool { return strings.HasPrefix(ns, p) })
}

// ArchiveCapacity is how many archived workflows the settings allow:
// ArchiveTTLDays of ArchivedRunsPerDay.
func (a Settings) ArchiveCapacity() int { return a.ArchiveTTLDays * a.ArchivedRunsPerDay }

// Memory is a container's memory limit (Autopilot makes the request the
// limit) and the Go runtime's soft limit inside it (GOMEMLIMIT), in MiB.
type Memory struct {
	LimitMiB, GoMemLimitMiB int
}

// The measurements argo-server is sized by (make bench-archive, Argo
// v4.0.7, workflows of 51 nodes with Argo's labels and a label of their
// own): one unbounded list (`argo list`, `argo archive list`; the CLI asks
// for everything unless --chunk-size is given) builds the namespace's
// whole archive in memory before the answer is sent or refused, about
// 8.5 KiB per archived workflow held live with GOMEMLIMIT set (16.5 KiB
// of resident memory without it: the garbage of building the answer), on
// about 100 MiB for the server itself.
const (
	serverBaseMiB        = 128
	serverKiBPerWorkflow = 10
	serverMinimumMiB     = 256
	// serverOverheadMiB is the least room above GOMEMLIMIT: the e2e saw
	// argo-server's resident memory up to 69 MiB above it (12,000
	// workflows, in a server that had served the whole e2e before).
	serverOverheadMiB = 160
	// MaxServerMemoryMiB is the most argo-server is given (8 GiB): beyond
	// it the archive is too large for Argo's unbounded lists.
	MaxServerMemoryMiB = 8192
)

// ServerMemory sizes argo-server for the archive the settings allow: the
// largest request anyone can make (the unbounded list of an archive of
// ArchiveCapacity workflows) does not get it killed. It is sized for one
// such list at a time in each server pod: two at once in the same pod hold
// twice as much (production runs two pods behind the load balancer, and
// the memory alert fires at 80%). GOMEMLIMIT is what that list
// holds live, with a margin (the Go runtime collects harder as the heap
// nears it instead of letting the answer's garbage take the container over
// its limit); the limit is a quarter more (at least 160 MiB more) for
// what the runtime does not count (the binary's pages, the kernel's
// buffers, a busy server's own working set).
// Rounded up to 64 MiB.
func (a Settings) ServerMemory() Memory {
	soft := serverBaseMiB + (a.ArchiveCapacity()*serverKiBPerWorkflow+1023)/1024
	limit := max(serverMinimumMiB, roundUp(soft+max((soft+3)/4, serverOverheadMiB), 64))
	return Memory{LimitMiB: limit, GoMemLimitMiB: soft}
}

// ServerCPU is argo-server's CPU request in millicores: 100m, or more where
// Autopilot asks for at least 1 vCPU per 6.5 GiB of memory.
func (a Settings) ServerCPU() int {
	return max(100, roundUp((a.ServerMemory().LimitMiB*1000+6655)/6656, 50))
}

func roundUp(n, step int) int { return (n + step - 1) / step * step }
