package realargo

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadConnects reads strace's own lines (recorded with straceArgs on
// this machine): IPv4 and IPv6, TCP and UDP, an IPv4-mapped IPv6 address,
// one split by another thread, repeats once, UDP sends naming their
// destination, a pid strace pads with a second space; no Unix socket, no
// send on a connected socket, no netlink; a connect it cannot read is an
// error, never skipped.
func TestReadConnects(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "x.connects")
	require.NoError(t, os.WriteFile(ledger, []byte(`30446 connect(3<TCPv6:[1325961]>, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = -1 ECONNREFUSED (Connection refused)
30446 connect(4<TCP:[1325962]>, {sa_family=AF_INET, sin_port=htons(9), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 ECONNREFUSED (Connection refused)
6255  connect(3<TCP:[1428121]>, {sa_family=AF_INET, sin_port=htons(9), sin_addr=inet_addr("127.0.0.2")}, 16) = -1 ECONNREFUSED (Connection refused)
30447 connect(5<TCP:[1325970]>, {sa_family=AF_INET, sin_port=htons(9), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
30446 connect(3<UDP:[1325963]>, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.0.0.1")}, 16) = -1 ENETUNREACH (Network is unreachable)
30448 connect(7<TCPv6:[1325990]>, {sa_family=AF_INET6, sin6_port=htons(80), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6_addr), sin6_scope_id=0}, 28 <unfinished ...>
30448 <... connect resumed>) = -1 EINPROGRESS (Operation now in progress)
30449 connect(8<UNIX:[1326000]>, {sa_family=AF_UNIX, sun_path="/run/x.sock"}, 110) = -1 ENOENT (No such file or directory)
26397 sendto(3<UDP:[1372480]>, "hi", 2, 0, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("127.0.0.1")}, 16) = 2
26397 sendmsg(3<UDP:[0.0.0.0:48437]>, {msg_name={sa_family=AF_INET, sin_port=htons(54), sin_addr=inet_addr("127.0.0.1")}, msg_namelen=16, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 1
26397 sendto(5<TCP:[127.0.0.1:57128->127.0.0.1:34689]>, "a", 1, 0, NULL, 0) = 1
26397 sendto(6<NETLINK:[1372487]>, {nlmsg_len=0, nlmsg_type=0 /* NLMSG_??? */, nlmsg_flags=0, nlmsg_seq=0, nlmsg_pid=0}, 16, 0, {sa_family=AF_NETLINK, nl_pad=0xf229, nl_pid=0, nl_groups=00000000}, 12) = 16
`), 0o644))
	got, err := ReadConnects(ledger)
	require.NoError(t, err)
	var s []string
	for _, c := range got {
		s = append(s, c.String())
	}
	assert.Equal(t, []string{"TCP 127.0.0.1:80", "TCP 127.0.0.1:9", "TCP 127.0.0.2:9", "TCP [::1]:443", "UDP 10.0.0.1:53", "UDP 127.0.0.1:53", "UDP 127.0.0.1:54"}, s)
	// Two lifetimes' ledgers: each connection once.
	twice, err := ReadConnects(ledger, ledger)
	require.NoError(t, err)
	assert.Equal(t, got, twice)

	require.NoError(t, os.WriteFile(ledger, []byte(`1 connect(3<NETLINK:[1]>, {sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, 12) = 0
`), 0o644))
	_, err = ReadConnects(ledger)
	assert.ErrorContains(t, err, "cannot read", "an unknown family is not skipped")
}
