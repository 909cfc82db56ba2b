package localcluster

import (
	"errors"
	"fmt"
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
	if Isolated() {
		return 0, errors.New("localcluster: already in the private network")
	}
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(self, os.Args[1:]...)
	cmd.Env = append(os.Environ(), isolatedEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	attr := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	if uid, gid := os.Getuid(), os.Getgid(); uid != 0 {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
		attr.GidMappingsEnableSetgroups = false
	}
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("localcluster: cannot create a private network namespace "+
			"(as root: CLONE_NEWNET; otherwise unprivileged user namespaces must be allowed, "+
			"e.g. sysctl kernel.unprivileged_userns_clone=1): %w", err)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 0, err
	}
	return 0, nil
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
