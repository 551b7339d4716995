package activity

import (
	"bufio"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/layout"
)

// ContainerLogs streams a container's logs (with the engine's timestamps)
// to w; with follow it returns when the container is gone or ctx ends.
// engine.Logs is the real one; it is a parameter so this package does not
// run the docker CLI itself.
type ContainerLogs func(ctx context.Context, name string, follow bool, w io.Writer) error

// Source is one bottle's logs: the saved compose logs of earlier runs and,
// while it runs, its sidecar containers.
type Source struct {
	Slug     string
	StateDir layout.StateDir
	// Sidecars are the running sidecar containers (none once stopped).
	Sidecars []string
	Logs     ContainerLogs
}

// Filter keeps an event or drops it.
type Filter func(Event) bool

// History returns every event the bottle's saved logs, its running
// sidecars and its audit log hold, oldest first.
func History(ctx context.Context, src Source) ([]Event, error) {
	var evs []Event
	saved, err := savedLogs(src)
	if err != nil {
		return nil, err
	}
	evs = append(evs, saved...)
	for _, c := range src.Sidecars {
		pr, pw := io.Pipe()
		done := make(chan []Event, 1)
		go func() {
			var rs restarts
			evs := readEvents(pr, DaemonOf(c, src.Slug), src.Slug)
			for i := range evs {
				evs[i] = rs.mark(evs[i])
			}
			done <- evs
		}()
		lerr := src.Logs(ctx, c, false, pw)
		pw.Close()
		evs = append(evs, <-done...)
		if lerr != nil {
			return nil, lerr
		}
	}
	ans, _, err := readAudit(src.StateDir.AuditLog(), 0)
	if err != nil {
		return nil, err
	}
	evs = append(evs, ans...)
	sortEvents(evs)
	return evs, nil
}

// savedLogs reads compose.log and its rotated predecessors (oldest first).
func savedLogs(src Source) ([]Event, error) {
	var evs []Event
	for _, f := range LogFiles(src.StateDir) {
		fh, err := os.Open(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		evs = append(evs, readEvents(fh, "", src.Slug)...)
		fh.Close()
	}
	return evs, nil
}

// readEvents parses every line of r; fallback names the daemon of lines
// without a source prefix (docker logs of one container).
func readEvents(r io.Reader, fallback, slug string) []Event {
	var evs []Event
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		l := SplitComposeLine(sc.Text())
		d := fallback
		if l.Source != "" {
			d = DaemonOf(l.Source, slug)
		}
		if d == "agent" {
			continue // the agent's own output is not a sidecar decision
		}
		if e, ok := Parse(l, d); ok {
			evs = append(evs, e)
		}
	}
	// A line over the buffer ends the scan; the rest of this source is
	// skipped rather than mis-parsed.
	_, _ = io.Copy(io.Discard, r)
	return evs
}

// restarts tells a daemon's restart from its first start in one live
// container's output: Docker restarting a legacy sidecar leaves only a
// second "listening" line. (Not for saved logs: there each run starts the
// same container names again.)
type restarts struct {
	started map[string]bool
	died    map[string]bool
}

func (r *restarts) mark(e Event) Event {
	if r.started == nil {
		r.started, r.died = map[string]bool{}, map[string]bool{}
	}
	switch e.Kind {
	case KindRestart:
		r.died[e.Daemon] = true // the init said so already
	case KindStart:
		if r.started[e.Daemon] && !r.died[e.Daemon] {
			e.Kind, e.Message = KindRestart, "started again (the container restarted)"
		}
		r.started[e.Daemon], r.died[e.Daemon] = true, false
	}
	return e
}

// readAudit reads audit.jsonl from offset; it returns the events and the
// offset after the last complete line.
func readAudit(path string, off int64) ([]Event, int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, off, nil
	}
	if err != nil {
		return nil, off, err
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, off, err
	}
	var evs []Event
	br := bufio.NewReader(f)
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			break // an incomplete last line is read next time
		}
		off += int64(len(line))
		if e, ok := Answer(line); ok {
			evs = append(evs, e)
		}
	}
	return evs, off, nil
}

func sortEvents(evs []Event) {
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time.Before(evs[j].Time) })
}

// Hold is how long Follow keeps an event before printing it, so that the
// lines of several containers come out in time order.
const Hold = 150 * time.Millisecond

// Follow writes the bottle's history and then every new event as it
// happens, until ctx ends or every sidecar container is gone.
func Follow(ctx context.Context, src Source, keep Filter, emit func(Event) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type arrival struct {
		e  Event
		at time.Time
	}
	var (
		mu      sync.Mutex
		pending []arrival
	)
	push := func(evs ...Event) {
		mu.Lock()
		now := time.Now()
		for _, e := range evs {
			if keep == nil || keep(e) {
				pending = append(pending, arrival{e, now})
			}
		}
		mu.Unlock()
	}
	saved, err := savedLogs(src)
	if err != nil {
		return err
	}
	push(saved...)
	var wg sync.WaitGroup
	errs := make(chan error, len(src.Sidecars))
	for _, c := range src.Sidecars {
		pr, pw := io.Pipe()
		wg.Add(2)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(pr)
			sc.Buffer(make([]byte, 64*1024), 1024*1024)
			d := DaemonOf(c, src.Slug)
			var rs restarts
			for sc.Scan() {
				if e, ok := Parse(SplitComposeLine(sc.Text()), d); ok {
					push(rs.mark(e))
				}
			}
			_, _ = io.Copy(io.Discard, pr)
		}()
		go func() {
			defer wg.Done()
			err := src.Logs(ctx, c, true, pw)
			pw.Close()
			if err != nil && ctx.Err() == nil {
				errs <- err
			}
		}()
	}
	streamsDone := make(chan struct{})
	go func() { wg.Wait(); close(streamsDone) }()

	var auditOff int64
	pollAudit := func() error {
		evs, off, err := readAudit(src.StateDir.AuditLog(), auditOff)
		auditOff = off
		push(evs...)
		return err
	}
	if err := pollAudit(); err != nil {
		return err
	}
	flush := func(all bool) error {
		mu.Lock()
		cut := time.Now().Add(-Hold)
		var out, rest []arrival
		for _, a := range pending {
			if all || a.at.Before(cut) {
				out = append(out, a)
			} else {
				rest = append(rest, a)
			}
		}
		pending = rest
		mu.Unlock()
		sort.SliceStable(out, func(i, j int) bool { return out[i].e.Time.Before(out[j].e.Time) })
		for _, a := range out {
			if err := emit(a.e); err != nil {
				return err
			}
		}
		return nil
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	polls := 0
	for {
		select {
		case <-ctx.Done():
			return flush(true)
		case err := <-errs:
			_ = flush(true)
			return err
		case <-streamsDone:
			if len(src.Sidecars) > 0 {
				_ = pollAudit()
				return flush(true)
			}
			streamsDone = nil // no containers: follow the audit log only
		case <-tick.C:
			if polls++; polls%4 == 0 {
				if err := pollAudit(); err != nil {
					return err
				}
			}
			if err := flush(false); err != nil {
				return err
			}
		}
	}
}

// LogFiles lists a state dir's saved compose logs, oldest first:
// compose.log.<N> ... compose.log.1, then compose.log.
func LogFiles(sd layout.StateDir) []string {
	var files []string
	for i := MaxRotations; i >= 1; i-- {
		f := RotatedLog(sd, i)
		if _, err := os.Stat(f); err == nil {
			files = append(files, f)
		}
	}
	return append(files, sd.ComposeLog())
}
