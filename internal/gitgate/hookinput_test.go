package gitgate

import (
	"strings"
	"testing"
)

const (
	zero = "0000000000000000000000000000000000000000"
	oidA = "1111111111111111111111111111111111111111"
	oidB = "abcdefabcdefabcdefabcdefabcdefabcdefabcd"
)

func TestParseHookInput(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []RefUpdate
		wantErr string
	}{
		{"empty", "", nil, ""},
		{"create", zero + " " + oidA + " refs/heads/agent/x\n", []RefUpdate{{zero, oidA, "refs/heads/agent/x"}}, ""},
		{"update and delete, no final newline", oidA + " " + oidB + " refs/heads/a\n" + oidB + " " + zero + " refs/heads/b",
			[]RefUpdate{{oidA, oidB, "refs/heads/a"}, {oidB, zero, "refs/heads/b"}}, ""},
		{"sha256 ids", strings.Repeat("0", 64) + " " + strings.Repeat("a", 64) + " refs/heads/x\n",
			[]RefUpdate{{strings.Repeat("0", 64), strings.Repeat("a", 64), "refs/heads/x"}}, ""},
		{"two fields", oidA + " refs/heads/x\n", nil, "line 1"},
		{"double space", oidA + "  " + oidB + " refs/heads/x\n", nil, "line 1"},
		{"upper-case hex", strings.ToUpper(oidB) + " " + oidA + " refs/heads/x\n", nil, "old object id"},
		{"short id", "1234 " + oidA + " refs/heads/x\n", nil, "old object id"},
		{"mixed lengths", oidA + " " + strings.Repeat("a", 64) + " refs/heads/x\n", nil, "differ in length"},
		{"both zero", zero + " " + zero + " refs/heads/x\n", nil, "both object ids are zero"},
		{"not under refs/", zero + " " + oidA + " HEAD\n", nil, "must start with refs/"},
		{"dot dot", zero + " " + oidA + " refs/heads/a..b\n", nil, "must not contain"},
		{"control char", zero + " " + oidA + " refs/heads/a\x01\n", nil, "not allowed"},
		{"lock suffix", zero + " " + oidA + " refs/heads/a.lock\n", nil, ".lock"},
		{"same ref twice", zero + " " + oidA + " refs/heads/a\n" + zero + " " + oidB + " refs/heads/a\n", nil, "updated twice"},
		{"bad second line", zero + " " + oidA + " refs/heads/a\nnope\n", nil, "line 2"},
		{"over-long line", zero + " " + oidA + " refs/heads/" + strings.Repeat("a", 5000) + "\n", nil, "longer than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseHookInput(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				if got != nil {
					t.Fatalf("got %v with an error; want nothing", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("[%d] = %v, want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestParseHookInputTooManyLines(t *testing.T) {
	var b strings.Builder
	for i := 0; i <= maxHookLines; i++ {
		b.WriteString(zero + " " + oidA + " refs/heads/b" + strings.Repeat("x", i%7) + "/" + itoa(i) + "\n")
	}
	if _, err := ParseHookInput(strings.NewReader(b.String())); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("err = %v, want a limit error", err)
	}
}

func itoa(i int) string {
	const d = "0123456789"
	if i < 10 {
		return d[i : i+1]
	}
	return itoa(i/10) + d[i%10:i%10+1]
}

// FuzzParseHookInput: never panics, and whatever it accepts is well formed
// (so it is safe on a git command line and in a log line).
func FuzzParseHookInput(f *testing.F) {
	for _, s := range []string{
		"",
		zero + " " + oidA + " refs/heads/agent/x\n",
		oidA + " " + oidB + " refs/heads/a\n" + oidB + " " + zero + " refs/tags/v1",
		zero + " " + zero + " refs/heads/x\n",
		oidA + " " + oidB + " refs/heads/a b\n",
		oidA + " " + oidB + " refs/heads/-rf\n",
		"\n\n\n",
		oidA + " " + oidB + " refs/heads/a\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		ups, err := ParseHookInput(strings.NewReader(in))
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, u := range ups {
			if checkOID(u.Old) != nil || checkOID(u.New) != nil || len(u.Old) != len(u.New) {
				t.Fatalf("accepted bad ids %q", u)
			}
			if u.IsCreate() && u.IsDelete() {
				t.Fatalf("accepted zero->zero %q", u)
			}
			if CheckRefName(u.Ref) != nil || strings.ContainsAny(u.Ref, " \t\r\n\x00") {
				t.Fatalf("accepted bad ref %q", u.Ref)
			}
			if seen[u.Ref] {
				t.Fatalf("accepted %q twice", u.Ref)
			}
			seen[u.Ref] = true
			// Round trip.
			again, err := ParseHookLine(u.String())
			if err != nil || again != u {
				t.Fatalf("round trip of %q: %v %v", u, again, err)
			}
		}
	})
}
