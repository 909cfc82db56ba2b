package google

import (
	"net/netip"

	"github.com/argo-platform/argo-platform/infra/setting"
)

// Network is the VPC the cluster and the database live in (infra/gcp's
// Network, and the cluster's control-plane range): the settings block's
// `network` section.
type Network struct {
	// SubnetCIDR is the primary range of the cluster's subnet (nodes).
	SubnetCIDR string `json:"subnetCIDR"`
	// PodsCIDR is the subnet's secondary range for pods.
	PodsCIDR string `json:"podsCIDR"`
	// ServicesCIDR is the subnet's secondary range for Services.
	ServicesCIDR string `json:"servicesCIDR"`
	// ControlPlaneCIDR is the /28 the GKE control plane's private endpoint uses.
	ControlPlaneCIDR string `json:"controlPlaneCIDR"`
	// PrivateServicesCIDR is reserved for private services access (Cloud SQL's
	// private IP); /24 or larger.
	PrivateServicesCIDR string `json:"privateServicesCIDR"`
}

// DefaultNetwork is the network every environment gets unless its stack
// file says otherwise: private ranges apart from each other.
func DefaultNetwork() Network {
	return Network{
		SubnetCIDR:          "10.10.0.0/20",
		PodsCIDR:            "10.20.0.0/16",
		ServicesCIDR:        "10.30.0.0/20",
		ControlPlaneCIDR:    "172.16.0.0/28",
		PrivateServicesCIDR: "10.40.0.0/20",
	}
}

// Ranges are the network's ranges by key in the section, in the order the
// rules check them.
func (n Network) Ranges() []Range {
	return []Range{
		{"controlPlaneCIDR", n.ControlPlaneCIDR},
		{"podsCIDR", n.PodsCIDR},
		{"privateServicesCIDR", n.PrivateServicesCIDR},
		{"servicesCIDR", n.ServicesCIDR},
		{"subnetCIDR", n.SubnetCIDR},
	}
}

// A Range is one of a Network's ranges, by its key in the section.
type Range struct{ Key, CIDR string }

// Prefix is the range parsed, when it is a private IPv4 network in CIDR form.
func (r Range) Prefix() (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(r.CIDR)
	return p, err == nil && p.Addr().Is4() && p.Masked() == p && p.Addr().IsPrivate()
}

// Check notes each range that is not a private IPv4 network, then each
// one smaller than Google lets it be.
func (n Network) Check(r *setting.Rules) {
	ok := map[string]netip.Prefix{}
	for _, rg := range n.Ranges() {
		p, err := netip.ParsePrefix(rg.CIDR)
		switch {
		case err != nil || !p.Addr().Is4() || p.Masked() != p:
			r.Add(rg.Key, rg.CIDR, "an IPv4 network in CIDR form, e.g. 10.10.0.0/20")
		case !p.Addr().IsPrivate():
			r.Add(rg.Key, rg.CIDR, "a private (RFC 1918) range")
		default:
			ok[rg.Key] = p
		}
	}
	atMost := func(key, cidr string, bits int, accepted string) {
		if p, parsed := ok[key]; parsed && p.Bits() > bits {
			r.Add(key, cidr, accepted)
		}
	}
	// GCP's smallest subnet; it keeps 4 addresses, leaving 4 for nodes.
	atMost("subnetCIDR", n.SubnetCIDR, 29, "a /29 or larger (Compute Engine's smallest subnet, 4 node addresses)")
	// Autopilot runs up to 32 Pods a node and reserves twice that many
	// addresses, a /26, for each node.
	atMost("podsCIDR", n.PodsCIDR, 26, "a /26 or larger (Autopilot reserves a /26 of Pod addresses for every node)")
	if p, parsed := ok["controlPlaneCIDR"]; parsed && p.Bits() != 28 {
		r.Add("controlPlaneCIDR", n.ControlPlaneCIDR, "a /28 (GKE's control-plane range size)")
	}
	atMost("privateServicesCIDR", n.PrivateServicesCIDR, 24, "a /24 or larger (Cloud SQL's minimum)")
}

// PrivateGoogleAPIs is private.googleapis.com's range (Private Google
// Access): most Google APIs, reached from inside the VPC without the
// internet. The network's private DNS zone answers every *.googleapis.com
// name with it, so Argo's egress policies can name Google's APIs by one
// range instead of the internet.
const PrivateGoogleAPIs = "199.36.153.8/30"

// PrivateGoogleAPIsHost is the name the zone's wildcard points at.
const PrivateGoogleAPIsHost = "private.googleapis.com."

// PrivateGoogleAPIsAddresses are PrivateGoogleAPIs' four addresses, the
// zone's A record.
func PrivateGoogleAPIsAddresses() []string {
	p := netip.MustParsePrefix(PrivateGoogleAPIs)
	var out []string
	for a := p.Addr(); p.Contains(a); a = a.Next() {
		out = append(out, a.String())
	}
	return out
}
