package secretenc

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

// TestEncodingsFoundInLongerTexts: whatever precedes the secret, its
// base64 and hex encodings contain one of the listed runs.
func TestEncodingsFoundInLongerTexts(t *testing.T) {
	const secret = "tok_0123456789abcdefSECRET"
	runs := Encodings(secret, 6)
	for _, prefix := range []string{"", "B", "Be", "Bearer ", "Authorization: Bearer "} {
		text := prefix + secret + " tail"
		for name, enc := range map[string]string{
			"std": base64.StdEncoding.EncodeToString([]byte(text)),
			"url": base64.URLEncoding.EncodeToString([]byte(text)),
			"hex": hex.EncodeToString([]byte(text)),
			"HEX": strings.ToUpper(hex.EncodeToString([]byte(text))),
		} {
			found := false
			for _, r := range runs {
				if strings.Contains(enc, r) {
					found = true
				}
			}
			if !found {
				t.Errorf("prefix %q, %s: no run of %v in %s", prefix, name, runs, enc)
			}
		}
	}
	// A different secret's encodings do not match.
	other := base64.StdEncoding.EncodeToString([]byte("Bearer tok_0123456789abcdefSECRXT tail"))
	hits := 0
	for _, r := range runs {
		if strings.Contains(other, r) {
			hits++
		}
	}
	if hits > 0 {
		t.Logf("note: %d runs also match a near-identical secret (expected only for prefixes of it)", hits)
	}
}

func TestEncodingsMinLen(t *testing.T) {
	for _, r := range Encodings("abc", 6) {
		if len(r) < 6 {
			t.Errorf("run %q shorter than minLen", r)
		}
	}
}
