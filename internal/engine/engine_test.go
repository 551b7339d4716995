package engine

import "testing"

func TestDNSLeakFixed(t *testing.T) {
	for v, want := range map[string]bool{
		"20.10.24+dfsg1": false, "24.0.9": false, "25.0.4": false, "25.0.5": true, "25.1.0": true,
		"26.0.0": true, "28.2.2": true, "29.0.0-rc.1": true, "": false, "garbage": false, "25": false,
	} {
		if got := DNSLeakFixed(v); got != want {
			t.Errorf("DNSLeakFixed(%q) = %v, want %v", v, got, want)
		}
	}
}
