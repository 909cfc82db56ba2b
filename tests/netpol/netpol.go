// Package netpol stands in for GKE Dataplane V2's NetworkPolicy enforcement
// where no data plane runs (the mock tests, and the end-to-end tests, whose
// API server stores policies but nothing enforces them): it answers whether
// a pod may open a connection, by the policies as the API server holds them
// and Kubernetes' NetworkPolicy rules.
//
// What it refuses, as Dataplane V2 does: a pod selected by any Egress policy
// reaches only what one of their rules allows (ports and peers, ipBlock
// with its exceptions, namespace and pod selectors by
// k8s.io/apimachinery's own label selectors); an ipBlock never matches a
// pod's own address (Cilium judges in-cluster pods by identity, not
// address); a Service's ClusterIP cannot be judged at all (Dataplane V2
// judges the backend after translating the Service), so asking about one is
// an error.
//
// What it does not check: Ingress (the mock tests read those policies
// directly), named ports (refused as an error, none are used), SCTP, IPv6,
// FQDN policies, the node's own traffic (kubelet probes), host-network pods,
// and where GKE judges a metadata-server request (the policies allow its
// documented addresses and the nodes, on its ports).
package netpol

import (
	"fmt"
	"net/netip"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Pod is a pod as policies see it.
type Pod struct {
	Namespace string
	Labels    map[string]string
}

// Dest is where a connection goes: an address outside the cluster, or a pod
// (Pod set) at its address.
type Dest struct {
	IP       netip.Addr
	Port     int
	Protocol string // TCP or UDP
	Pod      *Pod
}

func (d Dest) String() string {
	s := fmt.Sprintf("%s %s:%d", d.Protocol, d.IP, d.Port)
	if d.Pod != nil {
		s += fmt.Sprintf(" (a pod in %s %v)", d.Pod.Namespace, d.Pod.Labels)
	}
	return s
}

// Cluster is what the data plane enforces.
type Cluster struct {
	Policies []networkingv1.NetworkPolicy
	// Namespaces are the namespaces' labels, by name (namespace selectors
	// read them; every namespace carries kubernetes.io/metadata.name).
	Namespaces map[string]map[string]string
	// Services is the Services' range: a destination there is an error.
	Services netip.Prefix
}

// Egress reports whether from may connect to to, and which policy allows
// it ("" when no policy selects from: it is not isolated).
func (c Cluster) Egress(from Pod, to Dest) (bool, string, error) {
	if to.Protocol != "TCP" && to.Protocol != "UDP" {
		return false, "", fmt.Errorf("netpol: protocol %q not judged here", to.Protocol)
	}
	if c.Services.IsValid() && c.Services.Contains(to.IP) {
		return false, "", fmt.Errorf("netpol: %s is a Service's ClusterIP; Dataplane V2 judges the pod or address it translates to", to.IP)
	}
	isolated := false
	for _, p := range c.Policies {
		if p.Namespace != from.Namespace || !hasEgress(p.Spec) {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
		if err != nil {
			return false, "", fmt.Errorf("netpol: %s/%s podSelector: %w", p.Namespace, p.Name, err)
		}
		if !sel.Matches(labels.Set(from.Labels)) {
			continue
		}
		isolated = true
		for _, r := range p.Spec.Egress {
			ports, err := portsMatch(r.Ports, to)
			if err != nil {
				return false, "", fmt.Errorf("netpol: %s/%s: %w", p.Namespace, p.Name, err)
			}
			if !ports {
				continue
			}
			peers, err := c.peersMatch(r.To, from, to)
			if err != nil {
				return false, "", fmt.Errorf("netpol: %s/%s: %w", p.Namespace, p.Name, err)
			}
			if peers {
				return true, p.Namespace + "/" + p.Name, nil
			}
		}
	}
	return !isolated, "", nil
}

// hasEgress: policyTypes as written, else (as the API server defaults it)
// Egress when the policy has egress rules.
func hasEgress(s networkingv1.NetworkPolicySpec) bool {
	if len(s.PolicyTypes) == 0 {
		return len(s.Egress) > 0
	}
	for _, t := range s.PolicyTypes {
		if t == networkingv1.PolicyTypeEgress {
			return true
		}
	}
	return false
}

func portsMatch(ports []networkingv1.NetworkPolicyPort, to Dest) (bool, error) {
	if len(ports) == 0 {
		return true, nil
	}
	for _, p := range ports {
		proto := "TCP"
		if p.Protocol != nil {
			proto = string(*p.Protocol)
		}
		if proto != to.Protocol {
			continue
		}
		if p.Port == nil {
			return true, nil
		}
		if p.Port.StrVal != "" {
			return false, fmt.Errorf("named port %q is not judged here", p.Port.StrVal)
		}
		lo, hi := int(p.Port.IntVal), int(p.Port.IntVal)
		if p.EndPort != nil {
			hi = int(*p.EndPort)
		}
		if to.Port >= lo && to.Port <= hi {
			return true, nil
		}
	}
	return false, nil
}

func (c Cluster) peersMatch(peers []networkingv1.NetworkPolicyPeer, from Pod, to Dest) (bool, error) {
	if len(peers) == 0 {
		return true, nil
	}
	for _, peer := range peers {
		if peer.IPBlock != nil {
			if to.Pod != nil {
				continue
			}
			in, err := inBlock(peer.IPBlock, to.IP)
			if err != nil {
				return false, err
			}
			if in {
				return true, nil
			}
			continue
		}
		if to.Pod == nil {
			continue
		}
		nsOK := to.Pod.Namespace == from.Namespace
		if peer.NamespaceSelector != nil {
			sel, err := metav1.LabelSelectorAsSelector(peer.NamespaceSelector)
			if err != nil {
				return false, err
			}
			nsLabels, known := c.Namespaces[to.Pod.Namespace]
			if !known {
				return false, fmt.Errorf("namespace %s has no labels here", to.Pod.Namespace)
			}
			nsOK = sel.Matches(labels.Set(nsLabels))
		}
		podOK := true
		if peer.PodSelector != nil {
			sel, err := metav1.LabelSelectorAsSelector(peer.PodSelector)
			if err != nil {
				return false, err
			}
			podOK = sel.Matches(labels.Set(to.Pod.Labels))
		}
		if nsOK && podOK {
			return true, nil
		}
	}
	return false, nil
}

func inBlock(b *networkingv1.IPBlock, ip netip.Addr) (bool, error) {
	cidr, err := netip.ParsePrefix(b.CIDR)
	if err != nil {
		return false, fmt.Errorf("ipBlock %q: %w", b.CIDR, err)
	}
	if !cidr.Contains(ip) {
		return false, nil
	}
	for _, e := range b.Except {
		ex, err := netip.ParsePrefix(e)
		if err != nil {
			return false, fmt.Errorf("ipBlock except %q: %w", e, err)
		}
		if ex.Contains(ip) {
			return false, nil
		}
	}
	return true, nil
}
