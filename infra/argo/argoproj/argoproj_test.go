package argoproj

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/argo-platform/argo-platform/infra/setting"
)

// Only the releases this program is checked against pass the rule.
func TestOnlyTheCheckedReleasesAreAccepted(t *testing.T) {
	for _, tc := range []struct {
		v  string
		ok bool
	}{
		{"v4.1.2", true},
		{"v4.0.7", true},
		{"v4.0.5", false}, // security flaws reported
		{"v4.1.3", false},
		{"v3.7.0", false},
		{"v5.0.0", false},
		{"v3.6.9", false},
		{"v2.12.0", false},
		{"latest", false},
		{"4.1.2", false},
		{"v4.1", false},
		{"v4.1.2-rc1", false},
	} {
		s := Defaults()
		s.Version = tc.v
		r := setting.NewRules("argo")
		s.Check(r)
		if tc.ok {
			assert.Empty(t, r.Problems(), tc.v)
		} else if assert.Len(t, r.Problems(), 1, tc.v) {
			assert.Equal(t, "argo.version", r.Problems()[0].Key)
		}
	}
}

// argo-server's memory grows with the archive the settings allow, never
// below what make bench-archive measured an unbounded list holding live
// (about 100 MiB and 8.5 KiB per archived workflow with GOMEMLIMIT set),
// and leaves room above the Go runtime's soft limit for what it does not
// count.
func TestServerMemoryCoversTheArchive(t *testing.T) {
	prev := 0
	for _, capacity := range []int{1, 1400, 6000, 20000, 60000, 216000, 657000} {
		a := Defaults()
		a.ArchiveTTLDays, a.ArchivedRunsPerDay = 1, capacity
		m := a.ServerMemory()
		measured := 100 + capacity*85/10/1024
		assert.GreaterOrEqual(t, m.GoMemLimitMiB, measured, "%d archived workflows", capacity)
		assert.GreaterOrEqual(t, m.LimitMiB*4, m.GoMemLimitMiB*5, "a fifth above the soft limit at %d", capacity)
		assert.GreaterOrEqual(t, m.LimitMiB, prev, "grows with the archive")
		assert.Zero(t, m.LimitMiB%64)
		assert.GreaterOrEqual(t, m.LimitMiB, 256)
		assert.LessOrEqual(t, m.LimitMiB, MaxServerMemoryMiB, "%d is within what the settings accept", capacity)
		prev = m.LimitMiB
	}
}
