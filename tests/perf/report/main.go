// Command report prints the performance and cost model of every stack and
// exits non-zero when a target does not hold. Run it with `make perf`.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/argo-platform/argo-platform/tests"
	"github.com/argo-platform/argo-platform/tests/perf"
)

func main() {
	failed := false
	check := func(ok bool) string {
		if ok {
			return "ok"
		}
		failed = true
		return "MISSED"
	}
	for _, stack := range tests.Stacks {
		r, err := perf.Analyze(stack)
		if err != nil {
			fmt.Fprintln(os.Stderr, "perf:", err)
			os.Exit(1)
		}
		a := r.Settings.Argo
		fmt.Printf("== %s\n", stack)
		fmt.Printf("resources %d, graph depth %d\n", r.Resources, r.Depth)
		fmt.Printf("critical path %s, lower bound %s, ratio %.3f (target <= %.2f: %s)\n",
			secs(r.Critical.Seconds), secs(r.LowerBound.Seconds), r.Ratio, perf.MaxPathRatio, check(r.Ratio <= perf.MaxPathRatio))
		var steps []string
		for _, n := range r.Critical.Nodes {
			steps = append(steps, fmt.Sprintf("%s %s (%s)", short(n.Type), n.Name, secs(n.Seconds)))
		}
		fmt.Printf("  path: %s\n", strings.Join(steps, "\n     -> "))
		fmt.Printf("step overhead (init + wait): %s CPU, %s memory; Autopilot default %s CPU, %s memory: %.1fx / %.1fx less (target >= %.0fx: %s); each container >= %s, %s: %s\n",
			r.StepCPU.String(), r.StepMemory.String(), r.DefaultCPU.String(), r.DefaultMemory.String(),
			r.CPUFactor(), r.MemoryFactor(), perf.MinOverheadFactor,
			check(r.CPUFactor() >= perf.MinOverheadFactor && r.MemoryFactor() >= perf.MinOverheadFactor),
			perf.AutopilotMinCPU, perf.AutopilotMinMemory, check(r.AboveMinimums))
		fmt.Printf("throughput: parallelism %d (namespace %d), pods %g/s burst %d, controller workers %d, API qps %g burst %d\n",
			a.Parallelism, a.NamespaceParallelism, a.PodsPerSecond, a.PodBurst, a.WorkflowWorkers, a.APIQPS, a.APIBurst)
		fmt.Printf("cleanup: archive kept %dd, finished Workflow objects deleted after %dh, pod GC %s\n",
			a.ArchiveTTLDays, a.WorkflowTTLHours, r.Defaults.PodGC.Strategy)
		regular, spot, prices, priced := r.StepCost()
		spotDefault := r.Defaults.NodeSelector["cloud.google.com/gke-spot"] == "true"
		mode := "opt-in per workflow"
		if spotDefault {
			mode = "default for every step"
		}
		retry := "none"
		if r.Defaults.RetryStrategy != nil {
			retry = fmt.Sprintf("%d retries on %s", r.Defaults.RetryStrategy.Limit, r.Defaults.RetryStrategy.RetryPolicy)
		}
		cost := fmt.Sprintf("no Autopilot list prices on record for %s (tests/perf.AutopilotPrices; offline here): Spot Pods are %s cheaper than regular ones in every region (Google's pricing page)",
			r.Settings.Region, perf.SpotDiscount)
		if priced {
			cost = fmt.Sprintf("reference step (1 vCPU, 4 GiB + overhead) in %s $%.4f/h regular, $%.4f/h spot: %.0f%% saving (prices: %s)",
				r.Settings.Region, regular, spot, 100*(1-spot/regular), prices.Source)
		}
		fmt.Printf("spot: %s; %s; retry %s\n\n", mode, cost, retry)
	}
	if len(os.Args) > 1 && os.Args[1] == "-unit-tests" {
		start := time.Now()
		cmd := exec.Command("go", "test", "-count=1", "./...")
		cmd.Dir = tests.RepoRoot()
		out, err := cmd.CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s\nperf: go test failed: %v\n", out, err)
			os.Exit(1)
		}
		fmt.Printf("unit suite (go test -count=1 ./..., compiled): %s (target < 20s: reported, not asserted)\n",
			time.Since(start).Round(100*time.Millisecond))
	}
	if failed {
		fmt.Println("perf: a target was missed")
		os.Exit(1)
	}
}

func secs(s float64) string { return (time.Duration(s) * time.Second).String() }

// short drops the provider prefix of a type token for the path listing.
func short(typ string) string {
	if i := strings.LastIndexByte(typ, ':'); i >= 0 {
		return typ[i+1:]
	}
	return typ
}
