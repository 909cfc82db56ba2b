package google

import (
	"strconv"

	"github.com/argo-platform/argo-platform/infra/setting"
)

// Logs is the GCS bucket Argo archives every step's logs and artifacts to
// (infra/gcp's Logs): the settings block's `logs` section.
type Logs struct {
	// RetentionDays deletes objects older than this (1-3650).
	RetentionDays int `json:"retentionDays"`
	// ForceDestroy lets `destroy` delete a bucket that still holds logs.
	ForceDestroy bool `json:"forceDestroy"`
	// SoftDeleteDays keeps every deleted or overwritten object restorable
	// for this many days (0: off, else 7-90, GCS's bounds): a workflow that
	// deletes objects in its folder, an operator's mistake or the lifecycle
	// rule can be undone with `gcloud storage restore` until then.
	SoftDeleteDays int `json:"softDeleteDays"`
}

// DefaultLogs is the bucket an environment gets unless its stack file or
// its environment's policy says otherwise: two weeks, a teardown that may
// delete what is left, and GCS's own default of a week of soft delete.
func DefaultLogs() Logs { return Logs{RetentionDays: 14, ForceDestroy: true, SoftDeleteDays: 7} }

// Check notes a retention GCS's lifecycle rule would not take and a soft
// delete duration GCS refuses (its policy takes 0 or 7 to 90 days).
func (l Logs) Check(r *setting.Rules) {
	r.InRange("retentionDays", l.RetentionDays, 1, 3650)
	if d := l.SoftDeleteDays; d != 0 && (d < 7 || d > 90) {
		r.Add("softDeleteDays", strconv.Itoa(d), "0 (off) or a whole number from 7 to 90 (GCS's soft delete bounds)")
	}
}
