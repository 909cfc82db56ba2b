package main

// The archive at production's scale (`make bench-archive`): production's
// stack deployed with the real Pulumi engine, its real controller and
// server started from the Deployments it created, on PostgreSQL set up as
// Cloud SQL. One real workflow of -nodes nodes runs and the real
// controller archives it; its archived row (and its label rows) is then
// copied in SQL to each size of -archive, spread over production's
// archiveTTLDays, each copy with its own uid, name, start and one of 40
// `pipeline` labels. At each size the report gives, as the operator
// signed in: the UI's first page (the v4 UI's workflow list: limit 50 and
// its fields), the archive's page (limit 50), a label-filtered page,
// `argo list` and `argo archive list` (the real CLI, no limit), each with
// argo-server's peak memory during it against its Deployment's limit; the
// controller's peak memory over the whole size against its limit; and,
// at the largest size, how long the controller's own TTL deletion takes
// for one day's rows. Times are reported, never asserted.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/argo-platform/argo-platform/stacks"
	"github.com/argo-platform/argo-platform/tests"
	"github.com/argo-platform/argo-platform/tests/localcluster"
	"github.com/argo-platform/argo-platform/tests/localdeploy"
	"github.com/argo-platform/argo-platform/tests/realargo"
)

// uiFields are the fields the v4 UI's workflow list asks for
// (ui/src/shared/services/workflows-service.ts).
var uiFields = strings.Join([]string{
	"metadata", "items.metadata.uid", "items.metadata.name", "items.metadata.namespace",
	"items.metadata.creationTimestamp", "items.metadata.labels", "items.metadata.annotations",
	"items.status.phase", "items.status.message", "items.status.finishedAt", "items.status.startedAt",
	"items.status.estimatedDuration", "items.status.progress", "items.spec.suspend", "items.spec.arguments",
}, ",")

// request is one thing a person asks of the archive.
type request struct {
	Name string
	// Path is an API path (through the server), or Argv a CLI command.
	Path string
	Argv []string
}

func archiveRequests(ns string) []request {
	return []request{
		{Name: "UI first page", Path: "/api/v1/workflows/" + ns + "?listOptions.limit=50&fields=" + url.QueryEscape(uiFields)},
		{Name: "archive page", Path: "/api/v1/archived-workflows?namespace=" + ns + "&listOptions.limit=50"},
		{Name: "label-filtered page", Path: "/api/v1/workflows/" + ns + "?listOptions.limit=50&listOptions.labelSelector=" + url.QueryEscape("pipeline=p7") + "&fields=" + url.QueryEscape(uiFields)},
		{Name: "argo archive list", Argv: []string{"archive", "list", "-n", ns}},
		{Name: "argo list", Argv: []string{"list", "-n", ns}},
	}
}

// measured is one request at one size.
type measured struct {
	request
	Took time.Duration
	// Outcome is "200 OK (n bytes)", the CLI's "n lines", or the error.
	Outcome string
	// Peak is argo-server's largest resident memory during the request.
	Peak int64
	// Alive is whether the server still answered after it.
	Alive bool
}

// archiveSize is everything measured at one archive size.
type archiveSize struct {
	Rows     int
	Requests []measured
	// ControllerPeak is the controller's largest resident memory while
	// the archive grew to Rows and was read.
	ControllerPeak int64
}

// insideArchive parses the sizes and runs the archive bench in the
// private network.
func insideArchive(list string, nodes, runsPerDay int, serverEnv string) error {
	var sizes []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 || (len(sizes) > 0 && n <= sizes[len(sizes)-1]) {
			return fmt.Errorf("-archive: %q: sizes are ascending whole numbers of 2 or more", list)
		}
		sizes = append(sizes, n)
	}
	if nodes < 4 {
		return fmt.Errorf("-nodes: %d: at least 4 (a steps template, its step group and a retried step)", nodes)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := localcluster.BringUpLoopback(); err != nil {
		return err
	}
	dir := filepath.Join(tests.RepoRoot(), ".bench", "archive")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	fmt.Printf("bench: production's archive at %v archived workflows of %d nodes (logs in %s)\n", sizes, nodes, dir)
	return archiveBench(ctx, sizes, nodes, runsPerDay, serverEnv, dir)
}

// archiveBench runs the archive bench for each size (ascending).
func archiveBench(ctx context.Context, sizes []int, nodes, runsPerDay int, serverEnv, dir string) error {
	cfg, err := localdeploy.Settings(stacks.Production, func(m map[string]any) {
		if runsPerDay > 0 {
			tests.Section(m, "argo")["archivedRunsPerDay"] = runsPerDay
		}
	})
	if err != nil {
		return err
	}
	if capacity := cfg.Argo.ArchiveCapacity(); sizes[len(sizes)-1] > capacity {
		fmt.Printf("note: %d archived workflows are more than production's settings allow argo-server to be sized for (%d); -runs-per-day sizes it for more\n", sizes[len(sizes)-1], capacity)
	}
	env, err := bringUp(ctx, stacks.Production, cfg, dir, false)
	if err != nil {
		return err
	}
	defer env.stop()
	live := env.live
	ns := cfg.Argo.WorkflowNamespace
	serverLimit, err := realargo.MemoryLimit(ctx, env.client, cfg.Argo.Namespace, "argo-server")
	if err != nil {
		return err
	}
	controllerLimit, err := realargo.MemoryLimit(ctx, env.client, cfg.Argo.Namespace, "workflow-controller")
	if err != nil {
		return err
	}

	if serverEnv != "" {
		// An experiment's edit of the server's Deployment (-server-env).
		var vars []corev1.EnvVar
		for _, kv := range strings.Split(serverEnv, ",") {
			k, v, _ := strings.Cut(kv, "=")
			vars = append(vars, corev1.EnvVar{Name: k, Value: v})
		}
		if err := env.withEnv(ctx, cfg, "argo-server", vars...); err != nil {
			return err
		}
		fmt.Printf("argo-server runs with %s\n", serverEnv)
	}

	// One real workflow of about `nodes` nodes, run and archived by the
	// real controller: a steps template (1 node), its one step group (1)
	// and a fan-out whose every step is two nodes (production retries
	// steps: a Retry node and its Pod).
	start := time.Now()
	name, err := submit(ctx, ns, fanOut(max(1, (nodes-2)/2)))
	if err != nil {
		return err
	}
	n := stacks.NamesFor(cfg.Settings)
	pg := func(sql string) (string, error) {
		out, err := live.PG.SQL("postgres", "", n.Database, sql)
		if err != nil {
			return "", fmt.Errorf("%w: %s", err, out)
		}
		return strings.TrimSpace(out), nil
	}
	var uid string
	for uid == "" {
		if time.Since(start) > 5*time.Minute {
			return fmt.Errorf("workflow %s was not archived in 5 minutes; controller log:\n%s", name, live.Controller.Tail(20))
		}
		time.Sleep(time.Second)
		if uid, err = pg(fmt.Sprintf("SELECT uid FROM argo_archived_workflows WHERE name = '%s';", name)); err != nil {
			return err
		}
	}
	size, err := pg(fmt.Sprintf("SELECT pg_column_size(workflow) || ' bytes stored, ' || octet_length(workflow::text) || ' bytes of JSON, ' || (SELECT count(*) FROM jsonb_object_keys(workflow->'status'->'nodes')) || ' nodes' FROM argo_archived_workflows WHERE uid = '%s';", uid))
	if err != nil {
		return err
	}
	fmt.Printf("the real controller archived %s (%s) in %s\n", name, size, time.Since(start).Round(time.Second))

	largest := sizes[len(sizes)-1]
	// Spread over the TTL: the largest archive fills it.
	spacing := float64(cfg.Argo.ArchiveTTLDays*86400) / float64(largest)
	var results []archiveSize
	have := 1
	for _, rows := range sizes {
		peak := &realargo.PeakRSS{Pid: live.Controller.Pid()}
		stopSampling := peak.Sample()
		t0 := time.Now()
		if rows > have {
			if err := live.CopyArchived(n.Database, uid, have, rows-1, time.Duration(float64(have)*spacing*float64(time.Second)), time.Duration(spacing*float64(time.Second))); err != nil {
				stopSampling()
				return fmt.Errorf("copying the archived row: %w", err)
			}
		}
		have = rows
		bytes, _ := pg("SELECT pg_size_pretty(pg_total_relation_size('argo_archived_workflows') + pg_total_relation_size('argo_archived_workflows_labels'));")
		fmt.Printf("\n== %d archived workflows (%s on disk; copied in %s)\n", rows, bytes, time.Since(t0).Round(time.Second))
		r := archiveSize{Rows: rows}
		for _, req := range archiveRequests(ns) {
			m := measure(ctx, live, req, ns)
			fmt.Printf("  %-20s %8s  peak %s of %s  %s\n", m.Name, m.Took.Round(time.Millisecond), mib(m.Peak), mib(serverLimit), m.Outcome)
			r.Requests = append(r.Requests, m)
			if !m.Alive {
				stopSampling()
				return fmt.Errorf("argo-server stopped answering after %q at %d rows; log:\n%s", m.Name, rows, live.Server.Tail(20))
			}
		}
		stopSampling()
		if r.ControllerPeak, err = peak.Max(); err != nil {
			return err
		}
		fmt.Printf("  controller peak %s of %s\n", mib(r.ControllerPeak), mib(controllerLimit))
		results = append(results, r)
	}

	ttl, deleted, err := ttlDeletion(ctx, env, cfg, uid, largest)
	if err != nil {
		return err
	}
	fmt.Printf("\nthe controller's TTL deletion of one day's rows (%d) took %s\n", deleted, ttl.Round(time.Millisecond))
	archiveReport(os.Stdout, results, serverLimit, controllerLimit)
	return nil
}

// measure makes one request as the operator and samples argo-server's
// memory meanwhile.
func measure(ctx context.Context, live *realargo.Live, req request, ns string) measured {
	m := measured{request: req}
	peak := &realargo.PeakRSS{Pid: live.Server.Pid(), Every: 20 * time.Millisecond}
	stop := peak.Sample()
	start := time.Now()
	if req.Path != "" {
		m.Outcome = get(ctx, req.Path)
	} else {
		out, err := live.CLI(ctx, filepath.Join(localdeploy.Tools(), "bin"), ns, req.Argv...).Output()
		if err != nil {
			msg := err.Error()
			if ee, ok := err.(*exec.ExitError); ok {
				msg = strings.TrimSpace(string(ee.Stderr))
			}
			m.Outcome = "refused: " + firstLine(msg)
		} else {
			m.Outcome = fmt.Sprintf("%d lines", strings.Count(string(out), "\n"))
		}
	}
	m.Took = time.Since(start)
	stop()
	var err error
	if m.Peak, err = peak.Max(); err != nil {
		m.Outcome += "; " + err.Error()
	}
	m.Alive = get(ctx, "/api/v1/info") == "200 OK"
	return m
}

// get asks the server for path as the operator and says how it answered.
func get(ctx context.Context, path string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, realargo.ServerURL+path, nil)
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Authorization", session)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return "error: " + err.Error()
	}
	if path == "/api/v1/info" {
		return resp.Status
	}
	return fmt.Sprintf("%s (%s)", resp.Status, mib(n))
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// ttlDeletion plants one day's rows past the TTL and restarts the
// controller with its archive GC every 10 seconds (ARCHIVED_WORKFLOW_GC_PERIOD,
// set on its Deployment as an operator's edit would): how long the real
// controller's own deletion takes, from its log.
func ttlDeletion(ctx context.Context, env *upEnv, cfg *stacks.Loaded, uid string, largest int) (time.Duration, int, error) {
	perDay := max(1, largest/cfg.Argo.ArchiveTTLDays)
	// One day's rows, started TTL+1 days ago and within the day before.
	day := 24 * time.Hour
	if err := env.live.CopyArchived(stacks.NamesFor(cfg.Settings).Database, uid, largest+1, largest+perDay,
		time.Duration(cfg.Argo.ArchiveTTLDays+1)*day, day/time.Duration(perDay)); err != nil {
		return 0, 0, err
	}
	if err := env.withEnv(ctx, cfg, "workflow-controller", corev1.EnvVar{Name: "ARCHIVED_WORKFLOW_GC_PERIOD", Value: "10s"}); err != nil {
		return 0, 0, err
	}
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		if took, deleted, ok := gcSpan(env.live.Controller.Log()); ok {
			return took, deleted, nil
		}
		time.Sleep(time.Second)
	}
	return 0, 0, fmt.Errorf("the controller did not delete expired rows in 10 minutes; log:\n%s", env.live.Controller.Tail(20))
}

// gcSpan reads, from the controller's log (JSON lines), how long its
// first archive GC that deleted rows took: from the tick's "Performing
// archived workflow GC" to "Deleted archived workflows", and how many rows
// it deleted (rowsAffected).
func gcSpan(log string) (time.Duration, int, bool) {
	var begin time.Time
	for _, l := range strings.Split(log, "\n") {
		var e struct {
			Time         time.Time `json:"time"`
			Msg          string    `json:"msg"`
			RowsAffected int       `json:"rowsAffected"`
		}
		if json.Unmarshal([]byte(l), &e) != nil {
			continue
		}
		switch e.Msg {
		case "Performing archived workflow GC":
			begin = e.Time
		case "Deleted archived workflows":
			if e.RowsAffected > 0 && !begin.IsZero() {
				return e.Time.Sub(begin), e.RowsAffected, true
			}
		}
	}
	return 0, 0, false
}

func mib(n int64) string { return fmt.Sprintf("%d MiB", n>>20) }

// archiveReport prints the figures as the README's table.
func archiveReport(w io.Writer, rs []archiveSize, serverLimit, controllerLimit int64) {
	fmt.Fprintf(w, "\n| archived workflows |")
	for _, r := range archiveRequests("") {
		fmt.Fprintf(w, " %s |", r.Name)
	}
	fmt.Fprintf(w, " server peak (limit %s) | controller peak (limit %s) |\n|---|", mib(serverLimit), mib(controllerLimit))
	for range archiveRequests("") {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w, "---|---|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %d |", r.Rows)
		var peak int64
		for _, m := range r.Requests {
			cell := m.Took.Round(time.Millisecond).String()
			if !strings.HasPrefix(m.Outcome, "200") && !strings.HasSuffix(m.Outcome, "lines") {
				cell += " (" + m.Outcome + ")"
			}
			fmt.Fprintf(w, " %s |", cell)
			peak = max(peak, m.Peak)
		}
		fmt.Fprintf(w, " %s | %s |\n", mib(peak), mib(r.ControllerPeak))
	}
}
