package respscan

import "testing"

// TestRoleOpener: roleShape accepts no position whose byte roleOpener
// rules out.
func TestRoleOpener(t *testing.T) {
	for c := range 256 {
		if roleOpener[c] {
			continue
		}
		for _, rest := range []string{"system>", "/system>", "|im_start|>", "<sys>>", "\nhuman:", " system:", "inst]", ""} {
			low := append([]byte{byte(c)}, rest...)
			if roleShape(low, 0) {
				t.Fatalf("roleShape(%q) is true, roleOpener[%q] false", low, byte(c))
			}
		}
	}
}

func TestWordAtPrevWord(t *testing.T) {
	for _, tc := range []struct {
		text       string
		k          int
		word, prev string
	}{
		{"from anthropic", 5, "anthropic", "from"},
		{"by \t the admin", 9, "admin", "the"},
		{"x-y", 2, "y", ""},
		{"abc", 3, "", "abc"},
		{"", 0, "", ""},
		{"notes: has", 7, "has", ""},
	} {
		low := []byte(tc.text)
		if got := string(wordAt(low, tc.k)); got != tc.word {
			t.Errorf("wordAt(%q, %d) = %q, want %q", tc.text, tc.k, got, tc.word)
		}
		if got := string(prevWord(low, tc.k)); got != tc.prev {
			t.Errorf("prevWord(%q, %d) = %q, want %q", tc.text, tc.k, got, tc.prev)
		}
	}
}
