package kubectl

import (
	"os"
	"strings"
	"testing"
)

func TestParsePod(t *testing.T) {
	tests := []struct {
		file    string
		summary string
		ip      string
		problem string // "" when waiting may still help
		running bool
	}{
		{"pod-ready.json", "Running/Ready", "10.244.0.7", "", true},
		{"pod-imageneverpull.json", "Pending/ErrImageNeverPull", "", "scripts/k8s-cluster.sh import claude-bottle-agent-test:latest", false},
		{"pod-crashloop.json", "Running/CrashLoopBackOff", "10.244.0.8", "keeps exiting (last exit code 2, restarted 3 times)", false},
		{"pod-unschedulable.json", "Pending", "", "", false},
		{"pod-configerror.json", "Pending/CreateContainerConfigError", "", `secret "agent-env" not found`, false},
		{"pod-exited.json", "Failed", "", "agent exited with code 137", false},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile("testdata/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			st, err := ParsePod(data)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Summary(); got != tc.summary {
				t.Errorf("Summary = %q, want %q", got, tc.summary)
			}
			if st.IP != tc.ip {
				t.Errorf("IP = %q, want %q", st.IP, tc.ip)
			}
			if st.Running() != tc.running {
				t.Errorf("Running = %v, want %v", st.Running(), tc.running)
			}
			perr := st.Problem()
			switch {
			case tc.problem == "" && perr != nil:
				t.Errorf("Problem = %v, want none", perr)
			case tc.problem != "" && (perr == nil || !strings.Contains(perr.Error(), tc.problem)):
				t.Errorf("Problem = %v, want one saying %q", perr, tc.problem)
			}
		})
	}
}

func TestUnschedulableSaysWhy(t *testing.T) {
	data, _ := os.ReadFile("testdata/pod-unschedulable.json")
	st, err := ParsePod(data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(st.Unschedulable, "untolerated taint") {
		t.Errorf("%q", st.Unschedulable)
	}
}

func FuzzParsePod(f *testing.F) {
	for _, n := range []string{"pod-ready.json", "pod-crashloop.json", "pod-imageneverpull.json"} {
		b, _ := os.ReadFile("testdata/" + n)
		f.Add(b)
	}
	f.Add([]byte(`{"status":{"containerStatuses":[{"state":{}}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParsePod(b)
		if err != nil {
			return
		}
		_ = st.Summary()
		_ = st.Problem()
		if st.Ready && !strings.HasSuffix(st.Summary(), "/Ready") {
			t.Errorf("ready pod summarised %q", st.Summary())
		}
	})
}
