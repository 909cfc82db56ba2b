package iam

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// Cloud plays the two Google services a workflow step's executor talks to,
// deciding every request by the registered Policy:
//
//   - GKE's metadata server: a pod running as a Kubernetes ServiceAccount
//     annotated with a Google service account gets that account's token
//     only when the account's IAM lets the ServiceAccount's Workload
//     Identity member act as it; otherwise its requests fail, as on GKE.
//   - GCS: objects are kept in memory; create, overwrite (create and
//     delete), read and list are each allowed only when Policy.Allows the
//     permission GCS checks for that call on that object (list: on the
//     bucket, with the prefix as storage.googleapis.com/objectListPrefix).
//
// What it does not check: object holds, retention and soft-delete policies,
// the lifecycle rule's deletions, customer-managed encryption keys,
// requester-pays, VPC Service Controls, and the token's expiry; a bucket
// that does not exist is created on first write (the stack's log bucket
// exists once `pulumi up` ran; Policy is what decides).
type Cloud struct {
	Policy  Policy
	Project string

	mu      sync.Mutex
	objects map[string]map[string][]byte
}

// NewCloud is an empty Cloud of project deciding by policy.
func NewCloud(policy Policy, project string) *Cloud {
	return &Cloud{Policy: policy, Project: project, objects: map[string]map[string][]byte{}}
}

// Identity is the principal GKE's metadata server gives a pod of namespace
// ns running as Kubernetes ServiceAccount ksa, annotated with the Google
// service account gsa ("" when it is not).
func (c *Cloud) Identity(ns, ksa, gsa string) (string, error) {
	if gsa == "" {
		return "", fmt.Errorf("metadata server: %s/%s is annotated with no Google service account", ns, ksa)
	}
	ok, _, err := c.Policy.Allows(ActAs(c.Project, ns, ksa, gsa))
	if err != nil {
		return "", fmt.Errorf("metadata server: %w", err)
	}
	if !ok {
		return "", fmt.Errorf("metadata server: unable to generate an access token for %s: %s may not act as it (roles/iam.workloadIdentityUser)",
			gsa, WorkloadIdentityMember(c.Project, ns, ksa))
	}
	return "serviceAccount:" + gsa, nil
}

// allow answers one GCS permission check as GCS words a refusal.
func (c *Cloud) allow(principal, permission string, r Resource, prefix string) error {
	ok, _, err := c.Policy.Allows(Request{Principal: principal, Permission: permission, Resource: r, ListPrefix: prefix})
	if err != nil {
		return fmt.Errorf("googleapi: Error 403: %w, forbidden", err)
	}
	if !ok {
		return fmt.Errorf("googleapi: Error 403: %s does not have %s access to %s, forbidden",
			strings.TrimPrefix(principal, "serviceAccount:"), permission, r.Name)
	}
	return nil
}

// Put writes object key of bucket as principal (an overwrite needs delete
// too, as in GCS).
func (c *Cloud) Put(principal, bucket, key string, data []byte) error {
	obj := Object(c.Project, bucket, key)
	if err := c.allow(principal, "storage.objects.create", obj, ""); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, exists := c.objects[bucket][key]; exists {
		if err := c.allow(principal, "storage.objects.delete", obj, ""); err != nil {
			return err
		}
	}
	if c.objects[bucket] == nil {
		c.objects[bucket] = map[string][]byte{}
	}
	c.objects[bucket][key] = append([]byte{}, data...)
	return nil
}

// Get reads object key of bucket as principal.
func (c *Cloud) Get(principal, bucket, key string) ([]byte, error) {
	if err := c.allow(principal, "storage.objects.get", Object(c.Project, bucket, key), ""); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	data, ok := c.objects[bucket][key]
	if !ok {
		return nil, fmt.Errorf("googleapi: Error 404: No such object: %s/%s, notFound", bucket, key)
	}
	return append([]byte{}, data...), nil
}

// List names the objects of bucket under prefix, as principal.
func (c *Cloud) List(principal, bucket, prefix string) ([]string, error) {
	if err := c.allow(principal, "storage.objects.list", Bucket(c.Project, bucket), prefix); err != nil {
		return nil, err
	}
	return c.Objects(bucket, prefix), nil
}

// Objects names the objects of bucket under prefix (no permission check:
// what the test itself sees).
func (c *Cloud) Objects(bucket, prefix string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, k := range slices.Sorted(maps.Keys(c.objects[bucket])) {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
}
