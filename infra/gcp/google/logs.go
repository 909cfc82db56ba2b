package google

import "github.com/argo-platform/argo-platform/infra/setting"

// Logs is the GCS bucket Argo archives every step's logs and artifacts to
// (infra/gcp's Logs): the settings block's `logs` section.
type Logs struct {
	// RetentionDays deletes objects older than this (1-3650).
	RetentionDays int `json:"retentionDays"`
	// ForceDestroy lets `destroy` delete a bucket that still holds logs.
	ForceDestroy bool `json:"forceDestroy"`
}

// DefaultLogs is the bucket an environment gets unless its stack file or
// its environment's policy says otherwise: two weeks, and a teardown that
// may delete what is left.
func DefaultLogs() Logs { return Logs{RetentionDays: 14, ForceDestroy: true} }

// Check notes a retention GCS's lifecycle rule would not take.
func (l Logs) Check(r *setting.Rules) { r.InRange("retentionDays", l.RetentionDays, 1, 3650) }
