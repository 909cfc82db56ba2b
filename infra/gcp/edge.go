package gcp

import (
	"fmt"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/compute"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/dns"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/iap"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/infra/gcp/google"
)

// IAPAccessorRole lets a principal through Identity-Aware Proxy.
const IAPAccessorRole = "roles/iap.httpsResourceAccessor"

// EdgeArgs configures Edge.
type EdgeArgs struct {
	// APIs are the enabled project APIs; every child waits for them (a
	// component's own dependencies do not reach its children).
	APIs []pulumi.Resource
	// Project holds the address and the IAP policy. Required.
	Project string
	// AddressName is the global static IP's name, argo-<env> as in the seed;
	// the Ingress refers to it by this name. Required.
	AddressName string
	// Domain is Argo's host. Required.
	Domain string
	// IAP is the settings' iap section: its Members may open the UI.
	// Optional outside production.
	google.IAP
	// DNS is the settings' dns section: its ManagedZone, when set, gets an
	// A record for Domain.
	google.DNS
}

// Edge is what stands in front of the cluster: the global static IP, who IAP
// lets in, and optionally the DNS record.
//
// No gcp.iap.Brand or gcp.iap.Client: that OAuth Admin API was shut down in
// March 2026. The Ingress's BackendConfig enables IAP with GKE's
// Google-managed OAuth client instead.
type Edge struct {
	pulumi.ResourceState

	// AddressName and Address are the static IP's name and value.
	AddressName pulumi.StringOutput
	Address     pulumi.StringOutput
}

// NewEdge reserves the address and grants IAP access.
func NewEdge(ctx *pulumi.Context, name string, args *EdgeArgs, opts ...pulumi.ResourceOption) (*Edge, error) {
	e := &Edge{}
	if err := ctx.RegisterComponentResource(typePrefix+"Edge", name, e, opts...); err != nil {
		return nil, err
	}
	addr, err := compute.NewGlobalAddress(ctx, name, &compute.GlobalAddressArgs{
		Project:     pulumi.String(args.Project),
		Name:        pulumi.String(args.AddressName),
		AddressType: pulumi.String("EXTERNAL"),
		IpVersion:   pulumi.String("IPV4"),
	}, under(e, args.APIs))
	if err != nil {
		return nil, fmt.Errorf("edge: address: %w", err)
	}
	for _, m := range args.Members {
		if _, err := iap.NewWebIamMember(ctx, name+"-iap-"+google.IAPMemberKey(m), &iap.WebIamMemberArgs{
			Project: pulumi.String(args.Project),
			Role:    pulumi.String(IAPAccessorRole),
			Member:  pulumi.String(m),
		}, under(e, args.APIs)); err != nil {
			return nil, fmt.Errorf("edge: iap member %s: %w", m, err)
		}
	}
	if args.ManagedZone != "" {
		if _, err := dns.NewRecordSet(ctx, name+"-dns", &dns.RecordSetArgs{
			Project:     pulumi.String(args.Project),
			ManagedZone: pulumi.String(args.ManagedZone),
			Name:        pulumi.String(args.Domain + "."),
			Type:        pulumi.String("A"),
			Ttl:         pulumi.Int(300),
			Rrdatas:     pulumi.StringArray{addr.Address},
		}, under(e, args.APIs)); err != nil {
			return nil, fmt.Errorf("edge: dns record: %w", err)
		}
	}
	e.AddressName, e.Address = addr.Name, addr.Address
	return e, ctx.RegisterResourceOutputs(e, pulumi.Map{
		"addressName": addr.Name,
		"address":     addr.Address,
	})
}
