package state

import (
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/layout"
)

func TestActivityDescribe(t *testing.T) {
	for _, tc := range []struct {
		a       *Activity
		running bool
		want    string
	}{
		{nil, true, "idle"},
		{nil, false, "-"},
		{&Activity{State: TaskRunning}, true, "task running"},
		{&Activity{State: Attached}, true, "attached"},
		{&Activity{State: Exited, ExitCode: 3}, true, "exited with code 3"},
		{&Activity{State: Exited, ExitCode: 0}, false, "exited with code 0"},
		{&Activity{State: TaskRunning}, false, "stopped during: task running"},
	} {
		if got := tc.a.Describe(tc.running); got != tc.want {
			t.Errorf("%+v running=%v: %q, want %q", tc.a, tc.running, got, tc.want)
		}
	}
}

func TestActivityRoundTrip(t *testing.T) {
	sd := layout.StateDir(t.TempDir())
	if a, err := ReadActivity(sd); a != nil || err != nil {
		t.Fatalf("no file: %+v %v", a, err)
	}
	if err := WriteActivity(sd, Exited, 7); err != nil {
		t.Fatal(err)
	}
	a, err := ReadActivity(sd)
	if err != nil || a.State != Exited || a.ExitCode != 7 {
		t.Fatalf("%+v %v", a, err)
	}
	if err := WriteSession(sd, &Session{User: "agent", Dir: "/workspace", Flags: []string{"--model", "opus"}}); err != nil {
		t.Fatal(err)
	}
	s, err := ReadSession(sd)
	if err != nil || s.User != "agent" || s.Flags[1] != "opus" {
		t.Fatalf("%+v %v", s, err)
	}
}
