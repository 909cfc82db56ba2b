package gcp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/tools/clientcmd"
)

// clusterCA is a CA certificate as GKE hands it over: base64 of the PEM.
func clusterCA(t *testing.T) string {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "argo-staging"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// The kubeconfig, read by client-go as the Kubernetes provider reads it,
// reaches the cluster's endpoint, trusts its CA, and logs in through
// gke-gcloud-auth-plugin with no token stored; the same cluster gives the
// same text, so the provider is never replaced.
func TestKubeconfigLogsInThroughTheAuthPluginAndIsStable(t *testing.T) {
	ca := clusterCA(t)
	a, err := Kubeconfig("argo-staging", "34.1.2.3", ca)
	require.NoError(t, err)
	b, err := Kubeconfig("argo-staging", "34.1.2.3", ca)
	require.NoError(t, err)
	assert.Equal(t, a, b, "same cluster, same text: the provider is not replaced")

	cfg, err := clientcmd.RESTConfigFromKubeConfig([]byte(a))
	require.NoError(t, err)
	assert.Equal(t, "https://34.1.2.3", cfg.Host)
	block, _ := pem.Decode(cfg.TLSClientConfig.CAData)
	require.NotNil(t, block, "the CA client-go trusts is a PEM certificate")
	cert, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	assert.Equal(t, "argo-staging", cert.Subject.CommonName)
	require.NotNil(t, cfg.ExecProvider, "the user authenticates with an exec plugin")
	assert.Equal(t, "gke-gcloud-auth-plugin", cfg.ExecProvider.Command)
	assert.Equal(t, "client.authentication.k8s.io/v1beta1", cfg.ExecProvider.APIVersion)
	assert.Empty(t, cfg.BearerToken)
	assert.Empty(t, cfg.TLSClientConfig.CertData)

	c, err := Kubeconfig("argo-staging", "34.9.9.9", ca)
	require.NoError(t, err)
	assert.NotEqual(t, a, c)
}

func TestWorkloadIdentityMember(t *testing.T) {
	assert.Equal(t, "serviceAccount:acme.svc.id.goog[argo/argo-server]", WorkloadIdentityMember("acme", "argo", "argo-server"))
}
