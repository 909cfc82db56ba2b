package realargo

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Connect is one connect(2) a component made: what a pod's egress policy
// judges.
type Connect struct {
	// Protocol is TCP or UDP.
	Protocol string
	Addr     netip.AddrPort
}

func (c Connect) String() string { return c.Protocol + " " + c.Addr.String() }

// straceArgs run path under strace, recording into ledger, appended across
// restarts, every connect(2) of every thread and child, and every send
// that names its own destination (sendto, sendmsg, sendmmsg on an
// unconnected socket): each line names the socket's protocol (-yy) and the
// address.
func straceArgs(ledger, path string, args []string) []string {
	return append([]string{"-f", "-qq", "-A", "--seccomp-bpf", "-yy", "-e", "trace=connect,sendto,sendmsg,sendmmsg",
		"-e", "signal=none", "-o", ledger, "--", path}, args...)
}

var (
	callRe  = regexp.MustCompile(`^\d+\s+(connect|sendto|sendmsg|sendmmsg)\(`)
	protoRe = regexp.MustCompile(`^\d+\s+\w+\(\d+<(TCP|UDP)(v6)?:\[`)
	port4Re = regexp.MustCompile(`sa_family=AF_INET, sin_port=htons\((\d+)\), sin_addr=inet_addr\("([^"]+)"\)`)
	port6Re = regexp.MustCompile(`sa_family=AF_INET6, sin6_port=htons\((\d+)\).*?inet_pton\(AF_INET6, "([^"]+)"`)
)

// ReadConnects are the distinct connections in strace ledgers (straceArgs),
// sorted. A connect to a Unix
// socket, and a send without a destination of its own (its socket's
// connect was judged) or on a socket that is neither TCP nor UDP (netlink),
// are left out; a connect, or a TCP or UDP send naming an address, that
// cannot be read is an error, so nothing escapes unjudged.
func ReadConnects(ledgers ...string) ([]Connect, error) {
	seen := map[Connect]bool{}
	for _, ledger := range ledgers {
		if err := readLedger(ledger, seen); err != nil {
			return nil, err
		}
	}
	var out []Connect
	for c := range seen {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Connect) int { return strings.Compare(a.String(), b.String()) })
	return out, nil
}

// readLedger adds one ledger's connections to seen.
func readLedger(ledger string, seen map[Connect]bool) error {
	f, err := os.Open(ledger)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		call := callRe.FindStringSubmatch(line)
		if call == nil {
			continue // a resumed half, an exit, or another line of strace's
		}
		proto := protoRe.FindStringSubmatch(line)
		named := strings.Contains(line, "sa_family=AF_INET")
		switch {
		case call[1] == "connect" && (strings.Contains(line, "sa_family=AF_UNIX") || strings.Contains(line, "sa_family=AF_UNSPEC")):
			continue
		case call[1] != "connect" && (proto == nil || !named):
			continue
		case proto == nil || !named:
			return fmt.Errorf("realargo: %s: a connect this parser cannot read: %s", filepath.Base(ledger), line)
		}
		pm := port4Re.FindStringSubmatch(line)
		if pm == nil {
			pm = port6Re.FindStringSubmatch(line)
		}
		if pm == nil {
			return fmt.Errorf("realargo: %s: no address in: %s", filepath.Base(ledger), line)
		}
		port, err := strconv.Atoi(pm[1])
		if err != nil {
			return err
		}
		addr, err := netip.ParseAddr(pm[2])
		if err != nil {
			return fmt.Errorf("realargo: %s: %w in: %s", filepath.Base(ledger), err, line)
		}
		seen[Connect{Protocol: proto[1], Addr: netip.AddrPortFrom(addr.Unmap(), uint16(port))}] = true
	}
	return sc.Err()
}

// Proc is a process as its /proc/<pid>/stat tells it.
type Proc struct {
	PPid int
	Comm string
}

// Processes are the processes this one can see, by pid.
func Processes() (map[int]Proc, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	procs := map[int]Proc{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone since the listing
		}
		// "pid (comm) state ppid ...": comm may hold spaces and
		// parentheses, so read the rest after its last ')'.
		text := string(stat)
		open, closing := strings.IndexByte(text, '('), strings.LastIndexByte(text, ')')
		if open < 0 || closing < open {
			continue
		}
		fields := strings.Fields(text[closing+1:])
		if len(fields) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		procs[pid] = Proc{PPid: ppid, Comm: text[open+1 : closing]}
	}
	return procs, nil
}

// tracee is the process strace started (its child).
func tracee(stracePid int) (int, error) {
	procs, err := Processes()
	if err != nil {
		return 0, err
	}
	for pid, p := range procs {
		if p.PPid == stracePid {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("realargo: strace %d has no child", stracePid)
}
