package netpol

import (
	"net/netip"

	"github.com/argo-platform/argo-platform/infra/argo"
	"github.com/argo-platform/argo-platform/infra/gcp/google"
)

// GKE is where a stack's pods connect on GKE, by its network settings: the
// destinations the tests ask about, as Dataplane V2 sees them (after a
// Service's translation).
type GKE struct{ Network google.Network }

// nth is the n-th address of cidr.
func nth(cidr string, n int) netip.Addr {
	a := netip.MustParsePrefix(cidr).Addr()
	for range n {
		a = a.Next()
	}
	return a
}

func tcp(ip netip.Addr, port int) Dest { return Dest{IP: ip, Port: port, Protocol: "TCP"} }

// APIServer is the control plane's private endpoint, where kubernetes.default
// leads (GKE puts it in the control plane's range).
func (g GKE) APIServer() Dest { return tcp(nth(g.Network.ControlPlaneCIDR, 2), 443) }

// Database is the Cloud SQL instance's private IP at port.
func (g GKE) Database(port int) Dest { return tcp(nth(g.Network.PrivateServicesCIDR, 3), port) }

// GoogleAPI is a *.googleapis.com name as the network's private zone
// answers it.
func (g GKE) GoogleAPI() Dest { return tcp(nth(google.PrivateGoogleAPIs, 1), 443) }

// Metadata is GKE's metadata server at port (80: tokens; 53: Cloud DNS).
func (g GKE) Metadata(port int, proto string) Dest {
	return Dest{IP: netip.MustParsePrefix(argo.MetadataServer).Addr(), Port: port, Protocol: proto}
}

// MetadataWorkloadIdentity is where GKE serves Workload Identity.
func (g GKE) MetadataWorkloadIdentity() Dest {
	return tcp(netip.MustParsePrefix(argo.MetadataServerWorkloadIdentity).Addr(), 988)
}

// KubeDNS is a kube-dns pod answering on 53.
func (g GKE) KubeDNS(proto string) Dest {
	return Dest{IP: nth(g.Network.PodsCIDR, 10), Port: 53, Protocol: proto,
		Pod: &Pod{Namespace: "kube-system", Labels: map[string]string{"k8s-app": "kube-dns"}}}
}

// NodeLocalDNS is NodeLocal DNSCache on the pod's node.
func (g GKE) NodeLocalDNS(proto string) Dest {
	return Dest{IP: netip.MustParsePrefix(argo.NodeLocalDNS).Addr(), Port: 53, Protocol: proto}
}

// Node is a node's address (its kubelet on 10250).
func (g GKE) Node(port int) Dest { return tcp(nth(g.Network.SubnetCIDR, 5), port) }

// PodAt is another pod at port.
func (g GKE) PodAt(p Pod, port int) Dest {
	d := tcp(nth(g.Network.PodsCIDR, 20), port)
	d.Pod = &p
	return d
}

// Internet is a public address (one reserved for documentation) at port:
// anything on the internet, the sign-in issuer's included.
func (g GKE) Internet(port int) Dest { return tcp(netip.MustParseAddr("203.0.113.10"), port) }

// Services is the Services' range.
func (g GKE) Services() netip.Prefix { return netip.MustParsePrefix(g.Network.ServicesCIDR) }
