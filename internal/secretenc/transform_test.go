package secretenc

import "testing"

func TestReverseAndROT13(t *testing.T) {
	tests := []struct{ in, rev, rot string }{
		{"", "", ""},
		{"a", "a", "n"},
		{"ghp_AbZz09", "90zZbA_phg", "tuc_NoMm09"},
		{"\xff\x00x", "x\x00\xff", "\xff\x00k"},
	}
	for _, tc := range tests {
		if got := Reverse(tc.in); got != tc.rev {
			t.Errorf("Reverse(%q) = %q, want %q", tc.in, got, tc.rev)
		}
		if got := ROT13(tc.in); got != tc.rot {
			t.Errorf("ROT13(%q) = %q, want %q", tc.in, got, tc.rot)
		}
		if got := ROT13(ROT13(tc.in)); got != tc.in {
			t.Errorf("ROT13 twice of %q = %q", tc.in, got)
		}
		if got := Reverse(Reverse(tc.in)); got != tc.in {
			t.Errorf("Reverse twice of %q = %q", tc.in, got)
		}
	}
}
