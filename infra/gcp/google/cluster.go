package google

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/argo-platform/argo-platform/infra/setting"
)

// Cluster is the GKE Autopilot cluster (infra/gcp's Cluster): the settings
// block's `cluster` section.
type Cluster struct {
	// ReleaseChannel is RAPID, REGULAR or STABLE.
	ReleaseChannel string `json:"releaseChannel"`
	// DeletionProtection is GKE's own guard against `destroy`.
	DeletionProtection bool `json:"deletionProtection"`
	// AuthorizedNetworks may reach the control plane's public endpoint: the
	// deployers' and CI's egress ranges. Never 0.0.0.0/0.
	AuthorizedNetworks []AuthorizedNetwork `json:"authorizedNetworks"`
	// MaintenanceStartUTC is when the weekend maintenance window opens, "HH:MM".
	MaintenanceStartUTC string `json:"maintenanceStartUTC"`
}

// AuthorizedNetwork is one CIDR allowed to reach the control plane.
type AuthorizedNetwork struct {
	Name string `json:"name"`
	CIDR string `json:"cidr"`
}

// DefaultCluster is the cluster an environment gets unless its stack file
// or its environment's policy says otherwise.
func DefaultCluster() Cluster {
	return Cluster{ReleaseChannel: "REGULAR", MaintenanceStartUTC: "17:00"}
}

// ReleaseChannels are GKE's release channels.
var ReleaseChannels = []string{"RAPID", "REGULAR", "STABLE"}

// MaxAuthorizedAddresses bounds how many addresses authorizedNetworks may
// admit together: a /16 holds any office's or runner fleet's egress
// ranges; more is a provider's space or the internet cut into pieces.
const MaxAuthorizedAddresses = 1 << 16

var hhmmRe = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

// Check notes what GKE would refuse, and an authorized range that opens
// the control plane too wide.
func (c Cluster) Check(r *setting.Rules) {
	if !slices.Contains(ReleaseChannels, c.ReleaseChannel) {
		r.Add("releaseChannel", c.ReleaseChannel, "one of "+strings.Join(ReleaseChannels, ", "))
	}
	if !hhmmRe.MatchString(c.MaintenanceStartUTC) {
		r.Add("maintenanceStartUTC", c.MaintenanceStartUTC, `a time of day "HH:MM" in UTC`)
	}
	if len(c.AuthorizedNetworks) == 0 {
		r.Say("authorizedNetworks", "empty; list the deployers' and CI's egress ranges, or `pulumi up` cannot reach the control plane")
	}
	seen := map[string]bool{}
	var authorized []netip.Prefix
	for i, an := range c.AuthorizedNetworks {
		path := fmt.Sprintf("authorizedNetworks[%d]", i)
		if strings.TrimSpace(an.Name) == "" || seen[an.Name] {
			r.Add(path+".name", an.Name, "a non-empty name, unique in the list")
		}
		seen[an.Name] = true
		p, err := netip.ParsePrefix(an.CIDR)
		switch {
		case err != nil || !p.Addr().Is4() || p.Masked() != p:
			r.Add(path+".cidr", an.CIDR, "an IPv4 network in CIDR form, e.g. 203.0.113.0/24")
		case p.Bits() == 0:
			r.Add(path+".cidr", an.CIDR, "a specific range; 0.0.0.0/0 would open the control plane to the internet")
		default:
			authorized = append(authorized, p)
		}
	}
	if n := unionSize(authorized); n > MaxAuthorizedAddresses {
		r.Say("authorizedNetworks", "together cover %d addresses, more than %d (a /16); list the egress ranges of your offices and runners, not a provider's or the internet's", n, MaxAuthorizedAddresses)
	}
}

// unionSize counts the IPv4 addresses the prefixes cover together. Two
// prefixes either nest or are disjoint, so the union is the sum of the
// prefixes that no other one contains.
func unionSize(ps []netip.Prefix) uint64 {
	var total uint64
	for i, p := range ps {
		inside := false
		for j, q := range ps {
			if i == j {
				continue
			}
			// q contains p (an identical pair counts once: the first).
			if q.Bits() <= p.Bits() && q.Contains(p.Addr()) && (q.Bits() < p.Bits() || j < i) {
				inside = true
				break
			}
		}
		if !inside {
			total += 1 << (32 - p.Bits())
		}
	}
	return total
}
