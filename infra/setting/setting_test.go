package setting

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A section's problems carry its full key, lists and nested sections
// included, and land in the one list of the rules they came from.
func TestProblemsNameTheFullKey(t *testing.T) {
	all := NewRules("")
	all.Say("gcp:project", "missing")
	settings := all.Section("argo-platform:settings")
	db := settings.Section("database")
	db.InRange("diskSizeGB", 9, 10, 65536)
	db.InRange("diskSizeGB", 10, 10, 65536)
	id := settings.Section("identities[2]")
	id.Add("name", "Loader", "a lowercase DNS label")
	id.Say("", "grants nothing")
	id.Section("buckets").Add("[0].bucket", "Acme", "a GCS bucket name")

	var keys []string
	for _, p := range all.Problems() {
		keys = append(keys, p.Key)
	}
	assert.Equal(t, []string{
		"gcp:project",
		"argo-platform:settings.database.diskSizeGB",
		"argo-platform:settings.identities[2].name",
		"argo-platform:settings.identities[2]",
		"argo-platform:settings.identities[2].buckets[0].bucket",
	}, keys)
	assert.Equal(t, `argo-platform:settings.database.diskSizeGB: invalid value "9"; accepted: a whole number from 10 to 65536`, all.Problems()[1].Error())
	assert.Len(t, db.Problems(), 5, "a section's rules share the list")
}
