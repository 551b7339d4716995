// Package sidecarinit is PID 1 of the bundled "sidecars" service
// (DESIGN.md §2.2, §3) and the compose healthcheck of every sidecar.
//
// The init starts one child process per daemon, prefixes each line the
// children print with "[<daemon>] ", forwards signals, restarts a daemon
// that dies while its siblings run on, and reaps every process that ends
// up its child, orphans included.
//
// There is exactly one owner of wait4 in this package: the supervisor loop,
// which on every SIGCHLD calls Wait4(-1, WNOHANG) until nothing is left.
// exec.Cmd.Wait is never used: a second waiter would steal exit statuses
// from it (the go-reap / go-reaper class of bugs). Children are started with
// os.StartProcess and their output goes to pipes whose read ends our own
// goroutines drain, so nothing else is tied to a child's lifetime.
package sidecarinit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/layout"
)

// DefaultGrace is how long children get between SIGTERM and SIGKILL.
const DefaultGrace = 8 * time.Second

// Config describes one run of the init. Zero fields take the defaults
// noted; tests set Command, Grace and the backoffs to drive real, short
// lived child processes.
type Config struct {
	// Daemons to run, e.g. from ParseDaemons. Required.
	Daemons []string
	// Command returns the argv that starts a daemon. Default:
	// [<own executable>, daemon].
	Command func(daemon string) []string
	// Env is the environment the children's environments are cut from
	// (see ChildEnv). Default: os.Environ().
	Env []string
	// Grace between forwarding SIGTERM/SIGINT and SIGKILL. Default 8 s.
	Grace time.Duration
	// MinBackoff and MaxBackoff bound the restart delay of a daemon that
	// died; the delay doubles on each quick death. Defaults 500 ms, 30 s.
	MinBackoff, MaxBackoff time.Duration
	// StableAfter: a daemon that ran at least this long before dying
	// restarts after MinBackoff again. Default 10 s.
	StableAfter time.Duration
	// Stdout and Stderr receive the children's prefixed lines (and, on
	// Stdout, the init's own JSON logs). Default os.Stdout, os.Stderr.
	Stdout, Stderr io.Writer
	// OnEvent, if set, is called from the supervisor loop for each event.
	OnEvent func(Event)
	// Ready, if set, is called once the signal handlers are installed and
	// every daemon has been started once.
	Ready func()
}

// EventKind says what happened to a daemon.
type EventKind int

const (
	EventStarted     EventKind = iota // a daemon process started (PID set)
	EventExited                       // a daemon process was reaped (Code set)
	EventKilled                       // the grace ran out; SIGKILL sent (PID set)
	EventStartFailed                  // the process could not be started
	EventOrphan                       // a process that was not ours was reaped (PID set)
)

func (k EventKind) String() string {
	switch k {
	case EventStarted:
		return "started"
	case EventExited:
		return "exited"
	case EventKilled:
		return "killed"
	case EventStartFailed:
		return "start-failed"
	case EventOrphan:
		return "orphan"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one thing that happened to a daemon.
type Event struct {
	Kind   EventKind
	Daemon string
	PID    int
	// Code is the exit code for EventExited: the status, or 128+signal.
	Code int
	// Signaled reports the process was ended by a signal (Signal).
	Signaled bool
	Signal   syscall.Signal
}

type child struct {
	name       string
	proc       *os.Process // nil when not running
	pid        int
	started    time.Time
	backoff    time.Duration
	restart    *time.Timer
	restartNow bool // SIGUSR1: start again as soon as it is reaped
	lastCode   int
}

type supervisor struct {
	cfg      Config
	log      *slog.Logger
	out, err *lockedWriter
	children []*child
	byName   map[string]*child
	byPID    map[int]*child
	running  int
	stopping bool
	grace    *time.Timer

	restartCh chan *child
	killCh    chan int // pid whose grace after a SIGUSR1 restart ran out
	done      chan struct{}

	readers sync.WaitGroup
	pipesMu sync.Mutex
	pipes   map[*os.File]bool
}

func (c Config) withDefaults() Config {
	if c.Command == nil {
		exe, err := os.Executable()
		if err != nil {
			exe = os.Args[0]
		}
		c.Command = func(d string) []string { return []string{exe, d} }
	}
	if c.Env == nil {
		c.Env = os.Environ()
	}
	if c.Grace <= 0 {
		c.Grace = DefaultGrace
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = 500 * time.Millisecond
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = max(30*time.Second, c.MinBackoff)
	}
	if c.StableAfter <= 0 {
		c.StableAfter = 10 * time.Second
	}
	if c.Stdout == nil {
		c.Stdout = os.Stdout
	}
	if c.Stderr == nil {
		c.Stderr = os.Stderr
	}
	return c
}

// Run supervises cfg.Daemons until SIGTERM or SIGINT arrives (or ctx is
// done, which counts as SIGTERM), then returns the highest exit code among
// the daemons' last exits. Only one Run may be active in a process: it
// reaps every child of the process.
func Run(ctx context.Context, cfg Config) (int, error) {
	if len(cfg.Daemons) == 0 {
		return 2, errors.New("sidecarinit: no daemons to run; set " + EnvDaemons)
	}
	cfg = cfg.withDefaults()
	s := &supervisor{
		cfg:       cfg,
		out:       &lockedWriter{w: cfg.Stdout},
		err:       &lockedWriter{w: cfg.Stderr},
		byName:    map[string]*child{},
		byPID:     map[int]*child{},
		restartCh: make(chan *child),
		killCh:    make(chan int),
		done:      make(chan struct{}),
		pipes:     map[*os.File]bool{},
	}
	s.log = slog.New(slog.NewJSONHandler(prefixWriter{w: s.out, prefix: []byte("[init] ")}, nil))
	for _, d := range cfg.Daemons {
		if s.byName[d] != nil {
			return 2, fmt.Errorf("sidecarinit: daemon %q listed twice", d)
		}
		c := &child{name: d}
		s.children = append(s.children, c)
		s.byName[d] = c
	}

	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs, syscall.SIGCHLD, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1)
	defer signal.Stop(sigs)
	defer close(s.done)

	s.log.Info("init starting", "daemons", cfg.Daemons, "pid", os.Getpid(), "grace", cfg.Grace.String())
	for _, c := range s.children {
		s.start(c)
	}
	if cfg.Ready != nil {
		cfg.Ready()
	}

	// SIGCHLD can coalesce and a buffered channel can drop; the wait loop
	// drains everything, and the tick is a cheap safety net on top.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	ctxDone := ctx.Done()
	for !(s.stopping && s.running == 0) {
		var graceC <-chan time.Time
		if s.grace != nil {
			graceC = s.grace.C
		}
		select {
		case sig := <-sigs:
			s.onSignal(sig.(syscall.Signal))
		case <-ctxDone:
			ctxDone = nil
			s.shutdown(syscall.SIGTERM)
		case c := <-s.restartCh:
			c.restart = nil
			if !s.stopping && c.proc == nil {
				s.start(c)
			}
		case pid := <-s.killCh:
			if c := s.byPID[pid]; c != nil {
				s.log.Warn("daemon did not stop within the grace; killing", "daemon", c.name, "pid", pid)
				s.kill(c)
			}
		case <-graceC:
			s.grace = nil
			for _, c := range s.children {
				if c.proc != nil {
					s.log.Warn("daemon did not stop within the grace; killing", "daemon", c.name, "pid", c.pid, "grace", s.cfg.Grace.String())
					s.kill(c)
				}
			}
		case <-tick.C:
			s.reap()
		}
	}
	if s.grace != nil {
		s.grace.Stop()
	}
	s.reap() // orphans that died last
	s.drain(2 * time.Second)

	code := 0
	for _, c := range s.children {
		code = max(code, c.lastCode)
	}
	s.log.Info("init exiting", "code", code)
	return code, nil
}

func (s *supervisor) emit(e Event) {
	if s.cfg.OnEvent != nil {
		s.cfg.OnEvent(e)
	}
}

func (s *supervisor) start(c *child) {
	argv := s.cfg.Command(c.name)
	env, dropped := ChildEnv(c.name, s.cfg.Env)
	if len(dropped) > 0 {
		s.log.Warn("proxy variables are not passed to daemons", "daemon", c.name, "dropped", dropped)
	}
	fail := func(err error) {
		s.log.Error("cannot start daemon", "daemon", c.name, "argv", argv, "err", err.Error())
		s.emit(Event{Kind: EventStartFailed, Daemon: c.name})
		c.lastCode = 127
		s.scheduleRestart(c, 0)
	}
	if len(argv) == 0 {
		fail(errors.New("empty command"))
		return
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		fail(err)
		return
	}
	defer devnull.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		fail(err)
		return
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		fail(err)
		return
	}
	proc, err := os.StartProcess(argv[0], argv, &os.ProcAttr{
		Env:   env,
		Files: []*os.File{devnull, outW, errW},
		Sys: &syscall.SysProcAttr{
			// Own process group: a terminal's ^C reaches the children
			// only through us, and SIGKILL can take a daemon's helpers
			// (git, ssh) with it.
			Setpgid: true,
			// If the init dies (tests, or not PID 1) the daemons go too.
			Pdeathsig: syscall.SIGKILL,
		},
	})
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		fail(err)
		return
	}
	c.proc, c.pid, c.started = proc, proc.Pid, time.Now()
	s.byPID[c.pid] = c
	s.running++
	s.follow(outR, s.out, c.name)
	s.follow(errR, s.err, c.name)
	s.log.Info("daemon started", "daemon", c.name, "pid", c.pid)
	s.emit(Event{Kind: EventStarted, Daemon: c.name, PID: c.pid})
}

func (s *supervisor) follow(r *os.File, w *lockedWriter, name string) {
	s.pipesMu.Lock()
	s.pipes[r] = true
	s.pipesMu.Unlock()
	s.readers.Add(1)
	go func() {
		defer s.readers.Done()
		copyPrefixed(w, name, r)
		s.pipesMu.Lock()
		delete(s.pipes, r)
		s.pipesMu.Unlock()
		r.Close()
	}()
}

// drain waits for the output pipes to reach EOF. A grandchild that kept a
// pipe open must not hold the init up for ever: after d the pipes are
// closed under the readers.
func (s *supervisor) drain(d time.Duration) {
	ch := make(chan struct{})
	go func() { s.readers.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(d):
		s.pipesMu.Lock()
		for r := range s.pipes {
			r.Close()
		}
		s.pipesMu.Unlock()
		<-ch
	}
}

// reap is the only caller of wait4 in the process.
func (s *supervisor) reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return // ECHILD: no children; 0: none has changed state
		}
		if !ws.Exited() && !ws.Signaled() {
			continue // stopped/continued: not an exit
		}
		c := s.byPID[pid]
		if c == nil {
			// A daemon's helper reparented to us (PID 1 or subreaper).
			s.emit(Event{Kind: EventOrphan, PID: pid})
			continue
		}
		delete(s.byPID, pid)
		s.running--
		// The process is reaped; Release closes the pidfd Go keeps.
		_ = c.proc.Release()
		c.proc, c.pid = nil, 0
		code := exitCode(ws)
		c.lastCode = code
		ev := Event{Kind: EventExited, Daemon: c.name, PID: pid, Code: code, Signaled: ws.Signaled()}
		if ws.Signaled() {
			ev.Signal = ws.Signal()
		}
		s.emit(ev)
		switch {
		case s.stopping:
			s.log.Info("daemon exited", "daemon", c.name, "pid", pid, "code", code)
		case c.restartNow:
			c.restartNow = false
			c.backoff = 0
			s.log.Info("daemon restarting on request", "daemon", c.name, "old_pid", pid, "code", code)
			s.start(c)
		default:
			s.scheduleRestart(c, time.Since(c.started))
			s.log.Warn("daemon died; restarting after backoff", "daemon", c.name, "pid", pid,
				"code", code, "ran", time.Since(c.started).Round(time.Millisecond).String(),
				"backoff", c.backoff.String())
		}
	}
}

// scheduleRestart arms the restart timer with the next backoff: doubled
// after a quick death, back to the minimum after a stable run.
func (s *supervisor) scheduleRestart(c *child, ran time.Duration) {
	if s.stopping {
		return
	}
	if ran >= s.cfg.StableAfter || c.backoff == 0 {
		c.backoff = s.cfg.MinBackoff
	} else {
		c.backoff = min(c.backoff*2, s.cfg.MaxBackoff)
	}
	if c.restart != nil {
		c.restart.Stop()
	}
	c.restart = time.AfterFunc(c.backoff, func() {
		select {
		case s.restartCh <- c:
		case <-s.done:
		}
	})
}

func exitCode(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

func (s *supervisor) signal(c *child, sig syscall.Signal) {
	if c.proc == nil {
		return
	}
	if err := c.proc.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		s.log.Warn("cannot signal daemon", "daemon", c.name, "pid", c.pid, "signal", sig.String(), "err", err.Error())
	}
}

// kill sends SIGKILL to the daemon's whole process group, so helpers it
// started die with it.
func (s *supervisor) kill(c *child) {
	if c.proc == nil {
		return
	}
	_ = syscall.Kill(-c.pid, syscall.SIGKILL)
	s.signal(c, syscall.SIGKILL)
	s.emit(Event{Kind: EventKilled, Daemon: c.name, PID: c.pid})
}

func (s *supervisor) onSignal(sig syscall.Signal) {
	switch sig {
	case syscall.SIGCHLD:
		s.reap()
	case syscall.SIGTERM, syscall.SIGINT:
		s.shutdown(sig)
	case syscall.SIGHUP:
		// Reload: egress and pipelock reread their config in place.
		for _, name := range []string{layout.DaemonEgress, layout.DaemonPipelock} {
			if c := s.byName[name]; c != nil && c.proc != nil {
				s.log.Info("forwarding SIGHUP", "daemon", name, "pid", c.pid)
				s.signal(c, syscall.SIGHUP)
			}
		}
	case syscall.SIGUSR1:
		s.restartPipelock()
	}
}

func (s *supervisor) restartPipelock() {
	c := s.byName[layout.DaemonPipelock]
	switch {
	case c == nil:
		s.log.Warn("SIGUSR1 ignored: pipelock is not in this bundle", "daemons", s.cfg.Daemons)
	case s.stopping:
	case c.proc == nil:
		// Waiting out a backoff: start it now.
		if c.restart != nil {
			c.restart.Stop()
			c.restart = nil
		}
		c.backoff = 0
		s.start(c)
	case !c.restartNow:
		c.restartNow = true
		pid := c.pid
		s.log.Info("restarting pipelock on SIGUSR1", "pid", pid)
		s.signal(c, syscall.SIGTERM)
		time.AfterFunc(s.cfg.Grace, func() {
			select {
			case s.killCh <- pid:
			case <-s.done:
			}
		})
	}
}

func (s *supervisor) shutdown(sig syscall.Signal) {
	if !s.stopping {
		s.stopping = true
		s.log.Info("stopping daemons", "signal", sig.String(), "grace", s.cfg.Grace.String())
		s.grace = time.NewTimer(s.cfg.Grace)
		for _, c := range s.children {
			if c.restart != nil {
				c.restart.Stop()
				c.restart = nil
			}
		}
	}
	for _, c := range s.children {
		s.signal(c, sig)
	}
}
