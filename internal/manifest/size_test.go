package manifest

import (
	"strconv"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		err  string
	}{
		{"104857600", 104857600, ""},
		{"100MiB", 100 << 20, ""},
		{"100 MB", 100e6, ""},
		{"2gib", 2 << 30, ""},
		{"512KiB", 512 << 10, ""},
		{"7B", 7, ""},
		{"1024GiB", 1 << 40, ""},
		{"1025GiB", 0, "over 1 TiB"},
		{"0", 0, "zero"},
		{"-5MB", 0, "whole number"},
		{"1.5GB", 0, "whole number"},
		{"MB", 0, "whole number"},
		{"lots", 0, "whole number"},
		{"99999999999999999999", 0, "over 1 TiB"},
	} {
		got, err := ParseSize(c.in)
		if c.err == "" && (err != nil || got != c.want) {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
		if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("ParseSize(%q) = %d, %v; want an error saying %q", c.in, got, err, c.err)
		}
	}
}

// The key reaches the bottle; absent, there is no cap.
func TestMaxUploadKey(t *testing.T) {
	b, err := ParseBottle("b", "b.md", []byte("---\negress:\n  max_upload: 64MiB\n---\n"))
	if err != nil || b.MaxUpload != 64<<20 {
		t.Fatalf("max_upload: %v, %v", b, err)
	}
	b, err = ParseBottle("b", "b.md", []byte("---\negress:\n  allowlist: [a.com]\n---\n"))
	if err != nil || b.MaxUpload != 0 {
		t.Fatalf("no max_upload: %d, %v", b.MaxUpload, err)
	}
}

// FuzzParseSize: never panics; a size it accepts is positive, at most
// 1 TiB, and a plain number reads back as itself.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"1", "100MiB", " 3 gb ", "0", "-1", "1e9", "9223372036854775807", "kib"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			return
		}
		if n <= 0 || n > 1<<40 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
		if v, perr := strconv.ParseInt(strings.TrimSpace(s), 10, 64); perr == nil && v != n {
			t.Fatalf("ParseSize(%q) = %d, want %d", s, n, v)
		}
	})
}
