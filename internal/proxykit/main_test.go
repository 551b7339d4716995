package proxykit

import (
	"bytes"
	"flag"
	"strings"
	"testing"
)

// TestParseFlags: help goes to stdout once; a bad flag or a positional
// argument is an error on stderr with exit code 2.
func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		args               []string
		code               int
		done               bool
		stdout, stderr     string
		helpsOut, helpsErr int
	}{
		{[]string{"-h"}, 0, true, "USAGE", "", 1, 0},
		{[]string{"--nope"}, 2, true, "", "flag provided but not defined", 0, 1},
		{[]string{"extra"}, 2, true, "", `unexpected argument "extra"`, 0, 0},
		{[]string{"-x", "1"}, 0, false, "", "", 0, 0},
	} {
		fs := flag.NewFlagSet("d", flag.ContinueOnError)
		fs.String("x", "", "")
		fs.Usage = func() { fs.Output().Write([]byte("USAGE\n")) }
		var out, errb bytes.Buffer
		code, done := ParseFlags(fs, tc.args, &out, &errb)
		if code != tc.code || done != tc.done || !strings.Contains(out.String(), tc.stdout) || !strings.Contains(errb.String(), tc.stderr) ||
			strings.Count(out.String(), "USAGE") != tc.helpsOut || strings.Count(errb.String(), "USAGE") != tc.helpsErr {
			t.Errorf("%v: code %d done %v stdout %q stderr %q", tc.args, code, done, out.String(), errb.String())
		}
	}
}
