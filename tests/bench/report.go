package main

import (
	"fmt"
	"io"
	"strings"
)

// line is one run's figures.
func (r run) line() string {
	return fmt.Sprintf("%d steps in %d workflows (submitted in %.1fs): all done in %.1fs, %.1f steps started/s, pods created at %.1f/s (limit %g/s, burst %d); lost %d, stuck %d, failed %d; controller %.1f CPU s, peak %d MiB",
		r.Steps, r.Workflows, r.Submitted.Seconds(), r.Elapsed.Seconds(), r.StepsPerSecond(), r.PodRate(), r.Limits.PodsPerSecond, r.Limits.PodBurst,
		r.Lost(), r.Stuck, r.Failed, r.CPU.Seconds(), r.PeakRSS>>20)
}

// report prints every run against the seed's run of the same case, and
// the targets. It returns false when a step was lost or stuck, or a
// problem was reported: those are defects, whatever the machine.
func report(w io.Writer, runs []run) bool {
	ok := true
	seed := map[string]run{}
	for _, r := range runs {
		if r.Profile == "seed" {
			seed[r.Case] = r
		}
	}
	fmt.Fprintf(w, "\n== summary (speed is this machine's; targets: >= %.0fx the seed, pod creation within %.0f%% of resourceRateLimit where it binds)\n",
		MinSpeedup, RateTolerance*100)
	for _, r := range runs {
		fmt.Fprintf(w, "%-13s %-8s %s\n", r.Profile, r.Case, r.line())
		if s, found := seed[r.Case]; found && r.Profile != "seed" && r.Elapsed > 0 {
			x := s.Elapsed.Seconds() / r.Elapsed.Seconds()
			fmt.Fprintf(w, "%-22s throughput %.1fx the seed's (target >= %.0fx: %s)\n", "", x, MinSpeedup, mark(x >= MinSpeedup))
		}
		if r.LimitBound() {
			f := r.LimitReached()
			fmt.Fprintf(w, "%-22s resourceRateLimit bounds this case: pods created are %.0f%% of what %g/s with burst %d allows over the same span (target >= %.0f%%: %s)\n",
				"", f*100, r.Limits.PodsPerSecond, r.Limits.PodBurst, (1-RateTolerance)*100, mark(f >= 1-RateTolerance))
		}
		if r.Lost() > 0 || r.Stuck > 0 || r.Failed > 0 || len(r.Problems) > 0 {
			ok = false
			fmt.Fprintf(w, "%-22s DEFECT: %d lost, %d stuck, %d failed; %s\n", "", r.Lost(), r.Stuck, r.Failed, strings.Join(r.Problems, "; "))
		}
	}
	return ok
}

func mark(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISSED"
}
