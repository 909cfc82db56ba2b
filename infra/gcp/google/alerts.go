package google

import (
	"fmt"
	"slices"
	"strings"

	"github.com/argo-platform/argo-platform/infra/setting"
)

// Alerts is who Cloud Monitoring notifies when a workflow fails, the
// controller is down or stalled, step pods stay Pending, or the archive is
// not written (infra/gcp's Monitoring, infra/monitoring): the settings
// block's `alerts` section.
type Alerts struct {
	// Emails each get an e-mail notification channel on every alert
	// policy. Default none outside production (the policies still open
	// incidents in the console); production must name at least one.
	Emails []string `json:"emails"`
}

// Check notes an address a notification channel would not take, and one
// listed twice (addresses are case-insensitive).
func (a Alerts) Check(r *setting.Rules) {
	for i, e := range a.Emails {
		path := fmt.Sprintf("emails[%d]", i)
		if !ValidEmail(e) {
			r.Add(path, e, "an e-mail address such as data-oncall@yourcompany.com")
		} else if j := slices.IndexFunc(a.Emails, func(o string) bool { return strings.EqualFold(o, e) }); j < i {
			r.Say(path, "%q is already alerts.emails[%d]; list each address once", e, j)
		}
	}
}
