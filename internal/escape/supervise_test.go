package escape

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/queue"
)

// attackSuperviseFlood: issue 15, hole 1. The agent fills the operator's
// disk through supervise, with no approval: proposals whose JSON file is
// far larger than their decoded size (a 64 KiB Dockerfile of `<` encodes
// to ~390 KB, which then counted as unreadable and never toward the
// pending cap), and many calls at once, each dropped by the client at
// once (the pending check raced the write). Each oversized call must be
// refused with the budget error, the parallel flood must stop at
// queue.MaxPending (not one file more), and the queue dir on the host must stay under
// queue.MaxDirBytes as du measures it.
func (b *bottle) attackSuperviseFlood(t *testing.T) {
	script := `u=http://supervise:9100/
call() { printf '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"capability-block","arguments":{"dockerfile":"FROM x\\n%s %s","justification":"flood"}}}' "$1" "$2" > "/tmp/flood.$2.json"
  curl -s --noproxy '*' --max-time 3 -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' --data-binary "@/tmp/flood.$2.json" "$u"; rm -f "/tmp/flood.$2.json"; }
big=$(head -c 65000 /dev/zero | tr '\0' '<')
for i in 1 2 3; do call "$big" "lt$i" | grep -c 'its file would be' ; done
plain=$(head -c 65000 /dev/zero | tr '\0' a)
for i in $(seq 1 40); do call "$plain" "p$i" > /tmp/flood.out.$i & done; wait
grep -l 'already wait for the operator' /tmp/flood.out.* | wc -l; rm -f /tmp/flood.out.*`
	out, errOut, code := b.run(t, script)
	if code != 0 {
		t.Fatalf("the flood script failed, so it proves nothing: %s %s", out, errOut)
	}
	f := strings.Fields(out)
	if len(f) != 4 {
		t.Fatalf("unexpected flood output %q (stderr %q)", out, errOut)
	}
	for i, s := range f[:3] {
		if s != "1" {
			t.Errorf("ESCAPE oversized proposal %d (~390 KB encoded) was not refused with the budget error (its file would be ...)", i+1)
		}
	}
	refused, _ := strconv.Atoi(f[3])
	u, err := queue.DirUsage(b.p.QueueDir)
	if err != nil {
		t.Fatal(err)
	}
	du := queueDU(t, b.p.QueueDir)
	t.Logf("after the flood: %d pending, %d of 40 refused as over the pending cap; du %d bytes (cap %d)", u.Pending, refused, du, queue.MaxDirBytes)
	if u.Pending > queue.MaxPending {
		t.Errorf("ESCAPE %d proposals pending after 40 parallel calls, over the cap of %d (the check raced the write)", u.Pending, queue.MaxPending)
	}
	// How many refusals came back before each client gave up depends on
	// the load: only the queue's state is asserted.
	if u.Pending == 0 {
		t.Errorf("no proposal was queued: the flood proves nothing")
	}
	if du > queue.MaxDirBytes {
		t.Errorf("ESCAPE the queue dir takes %d bytes of the operator's disk, over the cap of %d", du, queue.MaxDirBytes)
	}
}

func queueDU(t *testing.T, dir string) int64 {
	t.Helper()
	out, err := exec.Command("du", "-s", "--block-size=1", dir).Output()
	if err != nil {
		t.Fatalf("du %s: %v", dir, err)
	}
	n, err := strconv.ParseInt(strings.Fields(string(out))[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
