//go:build e2e

package e2e

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/argo-platform/argo-platform/stacks"
	"github.com/argo-platform/argo-platform/tests/localdeploy"
	"github.com/argo-platform/argo-platform/tests/realargo"
)

// checkArchiveAtCapacity fills the archive to the largest size the stack's
// settings allow (argo.archiveTTLDays × argo.archivedRunsPerDay: 12,000
// workflows for the e2e's staging, above the sizing's floor), copies of one
// 51-node workflow the real controller archived, and runs the requests that build the whole archive in
// argo-server's memory: the real CLI's `argo archive list` and `argo list`
// with no limit (its default). Each is answered, and argo-server's sampled
// peak resident memory stays below its Deployment's memory limit, where
// GKE would kill the container (make bench-archive measures the same at
// production's 216,000). The sampled peak can miss a spike between two
// samples (every 20 ms), so the margin the sizing leaves
// (argoproj.ServerMemory) is what the test relies on; it would not notice a
// spike shorter than that.
func (l *liveArgo) checkArchiveAtCapacity(t *testing.T, ctx context.Context) {
	capacity := l.cfg.Argo.ArchiveCapacity()
	// The shape argo-server is sized by (make bench-archive): a steps
	// template, its step group and 24 retried steps, 51 nodes.
	name := l.submit(t, map[string]any{
		"metadata": map[string]any{"generateName": "archive-seed-"},
		"spec": map[string]any{
			"entrypoint": "main",
			"templates": []any{
				map[string]any{"name": "main", "steps": []any{[]any{map[string]any{
					"name": "work", "template": "work", "withSequence": map[string]any{"count": "24"},
				}}}},
				map[string]any{"name": "work", "container": map[string]any{"image": "busybox", "command": []any{"true"}}},
			},
		},
	})
	l.finished(t, name)
	l.awaitArchived(t, name, "before it is copied")
	uid := archivedWorkflows(t, l.ns)[name]
	require.NotEmpty(t, uid)

	db := stacks.NamesFor(l.cfg.Settings).Database
	sql := func(q string) string {
		t.Helper()
		out, err := l.PG.SQL("postgres", "", db, q)
		require.NoError(t, err, out)
		return strings.TrimSpace(out)
	}
	have, err := strconv.Atoi(sql("SELECT count(*) FROM argo_archived_workflows;"))
	require.NoError(t, err)
	require.Less(t, have, capacity)
	spacing := time.Duration(l.cfg.Argo.ArchiveTTLDays) * 24 * time.Hour / time.Duration(capacity)
	require.NoError(t, l.CopyArchived(db, uid, 1, capacity-have, spacing, spacing))
	defer sql("DELETE FROM argo_archived_workflows WHERE name LIKE 'archived-%';")
	require.Equal(t, strconv.Itoa(capacity), sql("SELECT count(*) FROM argo_archived_workflows;"))

	limit, err := realargo.MemoryLimit(ctx, cluster.Client, l.cfg.Argo.Namespace, "argo-server")
	require.NoError(t, err, "argo-server has a memory limit")
	for _, argv := range [][]string{{"archive", "list", "-n", l.ns}, {"list", "-n", l.ns}} {
		peak := &realargo.PeakRSS{Pid: l.Server.Pid(), Every: 20 * time.Millisecond}
		stop := peak.Sample()
		out, err := l.CLI(ctx, filepath.Join(localdeploy.Tools(), "bin"), l.ns, argv...).CombinedOutput()
		stop()
		cmd := "argo " + strings.Join(argv, " ")
		require.NoError(t, err, "%s is answered: %s", cmd, firstLines(string(out), 3))
		assert.Contains(t, string(out), "archived-1 ", "%s lists the archive", cmd)
		most, err := peak.Max()
		require.NoError(t, err, "argo-server's memory was sampled")
		t.Logf("FIGURE %s over %d archived workflows: argo-server peak %d MiB of its %d MiB limit", cmd, capacity, most>>20, limit>>20)
		assert.Less(t, most, limit, "%s over the largest archive the settings allow leaves argo-server below its memory limit", cmd)
		assert.True(t, l.Server.Running(), "argo-server is still running after %s", cmd)
	}
}

// firstLines is the first n lines of s.
func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
