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
