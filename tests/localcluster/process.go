package localcluster

import (
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Process is a binary started in a process group of its own, its output in
// a log file. It never outlives the process that started it.
type Process struct {
	// LogPath is where its stdout and stderr go.
	LogPath string
	cmd     *exec.Cmd
	log     *os.File
	done    chan struct{}
	stop    sync.Once
}

// StartProcess starts path with args in dir (empty: this process's
// folder), with env (nil: this process's), logging to logPath.
func StartProcess(path string, args, env []string, dir, logPath string) (*Process, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Env, cmd.Dir = env, dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	p := &Process{LogPath: logPath, cmd: cmd, log: log, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Running reports whether the process is still up.
func (p *Process) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Pid is the process id (for reading its usage in /proc).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// State is how the process ended (nil while it runs).
func (p *Process) State() *os.ProcessState { return p.cmd.ProcessState }

// Stop ends the process group (SIGTERM, then SIGKILL after 10 seconds),
// waits for the process and closes its log. Calling it again does nothing.
func (p *Process) Stop() {
	p.stop.Do(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
		p.log.Close()
	})
}
