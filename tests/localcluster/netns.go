package localcluster

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// isolatedEnv marks a process already running in its private network.
const isolatedEnv = "ARGO_PLATFORM_PRIVATE_NETWORK"

// Isolated reports whether this process runs in the private network that
// RunIsolated set up.
func Isolated() bool { return os.Getenv(isolatedEnv) == "1" }

// RunIsolated runs this program again, with the same arguments, inside a
// private network namespace that has nothing but its own loopback, and
// returns the exit code for the caller to exit with. Argo's controller and
// server listen on fixed ports (9090, 6060, 2746) on every interface: in
// the private network they never collide with anything on the machine, two
// runs never collide with each other, and nothing listens beyond the
// process. Root creates the namespace directly; anyone else inside a user
// namespace that maps their own uid to itself (they stay who they are). The
// copy is SIGKILLed if this process dies, and every process it starts
// belongs to the test that started it.
//
// Inside the copy (Isolated() is true), call BringUpLoopback first.
func RunIsolated() (int, error) {
	cmd, err := StartIsolated()
	if err != nil {
		return 0, err
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	return 0, err
}

// StartIsolated starts the copy RunIsolated runs, with extra environment
// variables, and returns it running.
func StartIsolated(env ...string) (*exec.Cmd, error) {
	if Isolated() {
		return nil, errors.New("localcluster: already in the private network")
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, os.Args[1:]...)
	cmd.Env = append(append(os.Environ(), env...), isolatedEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	attr := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	if uid, gid := os.Getuid(), os.Getgid(); uid != 0 {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
		attr.GidMappingsEnableSetgroups = false
		// A non-root process loses its capabilities at exec, even in its
		// own user namespace; keep only the one BringUpLoopback needs
		// (it reaches no further than the private network).
		attr.AmbientCaps = []uintptr{unix.CAP_NET_ADMIN}
	}
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("localcluster: cannot create a private network namespace "+
			"(as root: CLONE_NEWNET; otherwise unprivileged user namespaces must be allowed, "+
			"e.g. sysctl kernel.unprivileged_userns_clone=1, or on Ubuntu "+
			"kernel.apparmor_restrict_unprivileged_userns=0): %w", err)
	}
	return cmd, nil
}

// Forward accepts connections on listenNetwork/listenAddr and joins each to
// a new connection to dialNetwork/dialAddr. A Unix socket in the file
// system is reachable from both sides of a private network, so a process
// inside forwards "unix" -> "tcp" and one outside "tcp" -> "unix".
func Forward(listenNetwork, listenAddr, dialNetwork, dialAddr string) (io.Closer, error) {
	l, err := net.Listen(listenNetwork, listenAddr)
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer in.Close()
				out, err := net.Dial(dialNetwork, dialAddr)
				if err != nil {
					return
				}
				defer out.Close()
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(out, in); done <- struct{}{} }()
				go func() { _, _ = io.Copy(in, out); done <- struct{}{} }()
				<-done
			}()
		}
	}()
	return l, nil
}

// BringUpLoopback sets the private network's loopback interface up (a new
// network namespace starts with it down).
func BringUpLoopback() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("localcluster: loopback flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP | unix.IFF_RUNNING)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("localcluster: loopback up: %w", err)
	}
	return nil
}
