package queue

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// maxDockerfile is the largest Dockerfile Validate's decoded bound allows,
// made of the byte JSON blows up most (`<` becomes \u003c).
func maxDockerfile() string {
	head := "FROM debian:bookworm-slim\nRUN true "
	return head + strings.Repeat("<", MaxDockerfile-len(head))
}

func capability(n int, dockerfile string) *Proposal {
	at := t0.Add(time.Duration(n) * time.Second)
	return &Proposal{ID: NewID(at), Kind: KindCapability, CreatedAt: at, Justification: fmt.Sprintf("need %d", n), Dockerfile: dockerfile}
}

func TestEncodedSizeIsBounded(t *testing.T) {
	tests := []struct {
		name       string
		dockerfile string
		want       string // "" = accepted
	}{
		{"max decoded size, 6-byte escapes", maxDockerfile(), "would be "},
		{"max decoded size, control bytes", "FROM x\n" + strings.Repeat("\x01", MaxDockerfile-7), "would be "},
		{"max decoded size, plain", "FROM x\n" + strings.Repeat("a", MaxDockerfile-7), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := capability(0, tc.dockerfile)
			err := p.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				data, _ := encode(p)
				if len(data) > MaxFileBytes {
					t.Fatalf("accepted a proposal encoding to %d bytes", len(data))
				}
				return
			}
			var be *BudgetError
			if !errors.As(err, &be) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), strconv.Itoa(MaxFileBytes)) {
				t.Fatalf("err = %v, want a budget error naming the size and the limit", err)
			}
			dir := t.TempDir()
			if _, err := Enqueue(dir, p); err == nil {
				t.Fatal("Enqueue wrote an oversized proposal")
			}
			if ents, _ := os.ReadDir(dir); len(ents) > 1 { // at most .lock
				t.Fatalf("files left behind: %v", ents)
			}
		})
	}
}

// Every unanswered proposal file counts, whatever its state.
func TestPendingCountsUnreadableFiles(t *testing.T) {
	dir := t.TempDir()
	bad := []struct{ name, content string }{
		{NewID(t0) + proposalSuffix, strings.Repeat("x", MaxFileBytes+1)}, // oversized
		{"not-an-id" + proposalSuffix, "{}"},                              // misnamed
		{NewID(t0.Add(time.Second)) + proposalSuffix, "{"},                // not JSON
	}
	for _, b := range bad {
		if err := os.WriteFile(filepath.Join(dir, b.name), []byte(b.content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := range MaxPending - len(bad) {
		if dup, err := Enqueue(dir, pipelockN(i)); err != nil || dup != "" {
			t.Fatalf("proposal %d: dup %q err %v", i, dup, err)
		}
	}
	_, err := Enqueue(dir, pipelockN(99))
	var be *BudgetError
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "already wait for the operator") {
		t.Fatalf("proposal past MaxPending with %d unreadable files: err = %v", len(bad), err)
	}
	// The same request again is the pending one, not a refusal.
	if dup, err := Enqueue(dir, pipelockN(0)); err != nil || dup == "" {
		t.Fatalf("repeat of a pending proposal: dup %q err %v", dup, err)
	}
}

func pipelockN(i int) *Proposal {
	at := t0.Add(time.Duration(i) * time.Millisecond)
	return &Proposal{ID: NewID(at), Kind: KindPipelock, CreatedAt: at, Justification: "j", Hosts: []string{fmt.Sprintf("h%d.example.com", i)}}
}

// Concurrent callers cannot all pass the check and then all write.
func TestEnqueueConcurrent(t *testing.T) {
	dir := t.TempDir()
	const callers = 64
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	start := make(chan struct{})
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := Enqueue(dir, pipelockN(i))
			mu.Lock()
			defer mu.Unlock()
			var be *BudgetError
			switch {
			case err == nil:
				ok++
			case errors.As(err, &be):
				refused++
			default:
				t.Errorf("caller %d: %v", i, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	u, err := DirUsage(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ok != MaxPending || refused != callers-MaxPending || u.Pending != MaxPending {
		t.Fatalf("queued %d, refused %d, pending files %d; want %d queued", ok, refused, u.Pending, MaxPending)
	}
}

// The flood of issue 15: maximum-size proposals, each answered at once so
// MaxPending never stops it. It must stop at the queue's byte budget, and
// the disk the dir takes (as du measures it) must stay under MaxDirBytes.
func TestFloodStopsAtDirBudget(t *testing.T) {
	dir := t.TempDir()
	// The largest proposal that passes: plain bytes up to the file limit.
	// plain bytes up to the decoded limits, and as many 6-byte escapes as
	// still fit the file limit.
	const lt = 34000
	big := "FROM x\n" + strings.Repeat("<", lt) + strings.Repeat("a", MaxDockerfile-7-lt)
	queued := 0
	var last error
	for i := range 10 * MaxDirBytes / MaxFileBytes {
		p := capability(i, big)
		p.Justification = strings.Repeat("<", MaxJustification)
		if data, _ := encode(p); i == 0 && len(data) < MaxFileBytes-8<<10 {
			t.Fatalf("flood proposal encodes to %d bytes only; make it nearer %d", len(data), MaxFileBytes)
		}
		if _, err := Enqueue(dir, p); err != nil {
			last = err
			break
		}
		queued++
		a := &Answer{ID: p.ID, Decision: Rejected, DecidedAt: t0, Notes: "no"}
		if err := WriteAnswer(dir, a); err != nil {
			t.Fatal(err)
		}
	}
	var be *BudgetError
	if !errors.As(last, &be) || !strings.Contains(last.Error(), "queue is full") {
		t.Fatalf("after %d proposals: err = %v, want the queue-full budget error", queued, last)
	}
	if queued == 0 {
		t.Fatal("nothing was queued: the test proves nothing")
	}
	du := diskUsage(t, dir)
	t.Logf("%d proposals of ~%d bytes queued; du says %d bytes (cap %d)", queued, MaxFileBytes, du, MaxDirBytes)
	if du > MaxDirBytes {
		t.Fatalf("queue dir takes %d bytes on disk, over MaxDirBytes %d", du, MaxDirBytes)
	}
}

// diskUsage asks du (the operator's measure) for the dir's size.
func diskUsage(t *testing.T, dir string) int64 {
	t.Helper()
	out, err := exec.Command("du", "-s", "--block-size=1", dir).Output()
	if err != nil {
		t.Skipf("du: %v", err)
	}
	n, err := strconv.ParseInt(strings.Fields(string(out))[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCheckHostRoom(t *testing.T) {
	root := t.TempDir()
	mk := func(name string, bytes int) string {
		d := filepath.Join(root, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if bytes > 0 {
			if err := os.WriteFile(filepath.Join(d, "x"+proposalSuffix), make([]byte, bytes), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	n := MaxHostBytes / MaxDirBytes
	self := filepath.Join(root, "new-one")
	// n-1 running bottles with empty queues, and this one: exactly full.
	var releases []func()
	for i := range n - 1 {
		release, err := HoldLive(mk(fmt.Sprintf("live-%d", i), 0))
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, release)
	}
	if err := CheckHostRoom(root, self); err != nil {
		t.Fatalf("room for one more queue refused: %v", err)
	}
	// A finished bottle's small queue on top: running ones count at their
	// full budget though they hold nothing, so it no longer fits.
	mk("old", 4096)
	if err := CheckHostRoom(root, self); err == nil {
		t.Fatal("running bottles' queues were not counted at MaxDirBytes")
	} else if !strings.Contains(err.Error(), root) || !strings.Contains(err.Error(), "remove the queue dirs") {
		t.Fatalf("error does not say where and what to do: %v", err)
	}
	for _, r := range releases {
		r()
	}
	if err := CheckHostRoom(root, self); err != nil {
		t.Fatalf("after the bottles stopped: %v", err)
	}
	// A finished queue that holds a lot counts by what it holds.
	mk("huge", MaxHostBytes-MaxDirBytes)
	if err := CheckHostRoom(root, self); err == nil {
		t.Fatal("a full host was not refused")
	}
}
