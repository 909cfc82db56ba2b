// Package perf models how long `pulumi up` takes to create a stack and what
// each workflow step costs, from what the program registers under the
// recording mock. `make perf` prints the figures (tests/perf/report).
package perf

import (
	"sort"
	"strings"

	"github.com/argo-platform/argo-platform/tests"
)

// CreateSeconds are typical create times per type token, in seconds. They
// are a model, not a measurement: figures from the providers' documentation
// and common experience, rounded.
var CreateSeconds = map[string]float64{
	// API enablement: usually well under a minute (Service Usage docs:
	// "may take a few minutes" in the worst case).
	"gcp:projects/service:Service":            30,
	"gcp:compute/network:Network":             25,
	"gcp:compute/subnetwork:Subnetwork":       25,
	"gcp:compute/globalAddress:GlobalAddress": 10,
	"gcp:compute/router:Router":               15,
	"gcp:compute/routerNat:RouterNat":         25,
	// VPC peering for private services access: about a minute.
	"gcp:servicenetworking/connection:Connection": 60,
	// GKE docs: an Autopilot cluster takes several minutes; ~8 typical.
	"gcp:container/cluster:Cluster": 480,
	// Cloud SQL docs: instance creation takes several minutes; ~10 typical
	// for a private-IP instance.
	"gcp:sql/databaseInstance:DatabaseInstance": 600,
	"gcp:sql/database:Database":                 15,
	"gcp:sql/user:User":                         10,
	"gcp:serviceaccount/account:Account":        5,
	// IAM bindings: a read-modify-write of a policy, seconds.
	"gcp:serviceaccount/iAMMember:IAMMember":                      10,
	"gcp:projects/iAMMember:IAMMember":                            10,
	"gcp:storage/bucket:Bucket":                                   5,
	"gcp:storage/bucketIAMMember:BucketIAMMember":                 5,
	"gcp:iap/webIamMember:WebIamMember":                           10,
	"gcp:dns/recordSet:RecordSet":                                 10,
	"pulumi:providers:kubernetes":                                 0,
	"kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition": 2,
	// Autopilot provisions nodes for new pods: about a minute before a
	// Deployment is available, 1.5 for a Job's pod to run to completion.
	"kubernetes:apps/v1:Deployment": 75,
	"kubernetes:batch/v1:Job":       90,
	"kubernetes:core/v1:Service":    5,
}

// DefaultKubernetesSeconds is the create time of any other Kubernetes object.
const DefaultKubernetesSeconds = 1

// Seconds is the modelled create time of one resource.
func Seconds(typ string) float64 {
	if s, ok := CreateSeconds[typ]; ok {
		return s
	}
	if strings.HasPrefix(typ, "kubernetes:") {
		return DefaultKubernetesSeconds
	}
	return 0 // components take no time of their own
}

// Node is one custom resource in the creation graph.
type Node struct {
	URN, Type, Name string
	Seconds         float64
	// Waits are the nodes it waits for: its dependencies (explicit and
	// through inputs), its provider, and a custom parent.
	Waits []string
}

// Graph is what a stack's registrations declare.
type Graph map[string]*Node

// Build makes the creation graph of a recording. Components take no time;
// a wait on a component is a wait on its custom descendants.
func Build(rec *tests.Recorder) Graph {
	all := rec.Resources()
	children := map[string][]string{}
	byURN := map[string]*tests.Registered{}
	for _, r := range all {
		byURN[r.URN] = r
		children[r.Parent] = append(children[r.Parent], r.URN)
	}
	var custom func(urn string) []string
	custom = func(urn string) []string {
		r := byURN[urn]
		if r == nil {
			return nil
		}
		if r.Custom || strings.HasPrefix(r.Type, "pulumi:providers:") {
			return []string{urn}
		}
		var out []string
		for _, c := range children[urn] {
			out = append(out, custom(c)...)
		}
		return out
	}
	g := Graph{}
	for _, r := range all {
		if !r.Custom && !strings.HasPrefix(r.Type, "pulumi:providers:") {
			continue
		}
		n := &Node{URN: r.URN, Type: r.Type, Name: r.Name, Seconds: Seconds(r.Type)}
		waits := map[string]bool{}
		for _, d := range r.DependsOn {
			for _, c := range custom(d) {
				waits[c] = true
			}
		}
		if r.Provider != "" {
			if p, _, ok := strings.Cut(r.Provider, "::"+providerID(r.Provider)); ok && byURN[p] != nil {
				waits[p] = true
			}
		}
		if p := byURN[r.Parent]; p != nil && p.Custom {
			waits[p.URN] = true
		}
		delete(waits, r.URN)
		for w := range waits {
			n.Waits = append(n.Waits, w)
		}
		sort.Strings(n.Waits)
		g[r.URN] = n
	}
	return g
}

// providerID is the id part of a provider reference "<urn>::<id>".
func providerID(ref string) string {
	i := strings.LastIndex(ref, "::")
	if i < 0 {
		return ""
	}
	return ref[i+2:]
}

// Path is a chain of nodes and its modelled duration.
type Path struct {
	Seconds float64
	Nodes   []*Node
}

// Longest is the modelled critical path: the chain with the largest total
// create time, keeping only the edges keep accepts (nil keeps all).
func (g Graph) Longest(keep func(from, to *Node) bool) Path {
	finish := map[string]float64{}
	via := map[string]string{}
	var visit func(urn string) float64
	visit = func(urn string) float64 {
		if f, ok := finish[urn]; ok {
			return f
		}
		n := g[urn]
		best, from := 0.0, ""
		for _, w := range n.Waits {
			if g[w] == nil || (keep != nil && !keep(n, g[w])) {
				continue
			}
			if f := visit(w); f > best {
				best, from = f, w
			}
		}
		finish[urn], via[urn] = best+n.Seconds, from
		return finish[urn]
	}
	var end string
	var longest float64
	urns := make([]string, 0, len(g))
	for u := range g {
		urns = append(urns, u)
	}
	sort.Strings(urns)
	for _, u := range urns {
		if f := visit(u); f > longest {
			longest, end = f, u
		}
	}
	p := Path{Seconds: longest}
	for u := end; u != ""; u = via[u] {
		p.Nodes = append([]*Node{g[u]}, p.Nodes...)
	}
	return p
}

// Depth is the number of nodes on the longest chain by count.
func (g Graph) Depth() int {
	depth := map[string]int{}
	var visit func(urn string) int
	visit = func(urn string) int {
		if d, ok := depth[urn]; ok {
			return d
		}
		depth[urn] = 1 // cycles cannot occur in a Pulumi program
		best := 0
		for _, w := range g[urn].Waits {
			if g[w] != nil {
				if d := visit(w); d > best {
					best = d
				}
			}
		}
		depth[urn] = best + 1
		return depth[urn]
	}
	max := 0
	for u := range g {
		if d := visit(u); d > max {
			max = d
		}
	}
	return max
}

// Required reports whether a resource of type from truly has to wait for one
// of type to: the order GCP and Kubernetes impose, whatever the program.
// The lower bound is the longest path over these edges only.
func Required(from, to *Node) bool {
	f, t := from.Type, to.Type
	switch {
	case t == "gcp:projects/service:Service":
		return strings.HasPrefix(f, "gcp:") // an API is on before it is used
	case t == "pulumi:providers:kubernetes":
		return strings.HasPrefix(f, "kubernetes:")
	case f == "pulumi:providers:kubernetes":
		return t == "gcp:container/cluster:Cluster" // its kubeconfig
	case strings.HasPrefix(f, "kubernetes:") && strings.HasPrefix(t, "kubernetes:"):
		return true // in-cluster order is cheap and kept as the program says
	case f == "kubernetes:apps/v1:Deployment" || f == "kubernetes:batch/v1:Job":
		// Pods need their identities, grants, database users and the
		// database they connect to.
		return t == "gcp:serviceaccount/iAMMember:IAMMember" || t == "gcp:projects/iAMMember:IAMMember" ||
			t == "gcp:storage/bucketIAMMember:BucketIAMMember" || t == "gcp:sql/user:User" ||
			t == "gcp:sql/database:Database"
	}
	pairs := map[string][]string{
		"gcp:compute/subnetwork:Subnetwork":           {"gcp:compute/network:Network"},
		"gcp:compute/globalAddress:GlobalAddress":     {"gcp:compute/network:Network"},
		"gcp:compute/router:Router":                   {"gcp:compute/network:Network"},
		"gcp:compute/routerNat:RouterNat":             {"gcp:compute/router:Router"},
		"gcp:servicenetworking/connection:Connection": {"gcp:compute/network:Network", "gcp:compute/globalAddress:GlobalAddress"},
		"gcp:container/cluster:Cluster":               {"gcp:compute/network:Network", "gcp:compute/subnetwork:Subnetwork"},
		"gcp:sql/databaseInstance:DatabaseInstance":   {"gcp:compute/network:Network", "gcp:servicenetworking/connection:Connection"},
		"gcp:sql/database:Database":                   {"gcp:sql/databaseInstance:DatabaseInstance"},
		"gcp:sql/user:User":                           {"gcp:sql/databaseInstance:DatabaseInstance", "gcp:serviceaccount/account:Account"},
		// Workload Identity members need the account and the pool the
		// cluster creates.
		"gcp:serviceaccount/iAMMember:IAMMember":      {"gcp:serviceaccount/account:Account", "gcp:container/cluster:Cluster"},
		"gcp:projects/iAMMember:IAMMember":            {"gcp:serviceaccount/account:Account"},
		"gcp:storage/bucketIAMMember:BucketIAMMember": {"gcp:storage/bucket:Bucket", "gcp:serviceaccount/account:Account"},
		"gcp:dns/recordSet:RecordSet":                 {"gcp:compute/globalAddress:GlobalAddress"},
	}
	for _, p := range pairs[f] {
		if p == t {
			return true
		}
	}
	return false
}
