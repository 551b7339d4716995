package escape

import (
	"strings"
	"testing"
)

// query builds a DNS query for name with one question.
func query(name string) []byte {
	msg := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, l := range strings.Split(name, ".") {
		msg = append(msg, byte(len(l)))
		msg = append(msg, l...)
	}
	return append(msg, 0, 0, 1, 0, 1)
}

func TestQueryName(t *testing.T) {
	for _, tc := range []struct {
		name    string
		msg     []byte
		want    string
		wantErr string
	}{
		{"plain", query("Secret.Off.Escape.test"), "secret.off.escape.test", ""},
		{"short header", []byte{1, 2, 3}, "", "shorter than its 12-byte header"},
		{"no question", []byte{0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "", "no question"},
		{"truncated label", append([]byte{0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}, 5, 'a', 'b'), "", "label runs past"},
		{"no terminator", append([]byte{0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}, 1, 'a'), "", "name runs past"},
		{"pointer", append([]byte{0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}, 0xC0, 12), "", "compressed"},
		{"too long", query(strings.Repeat("a.", 130) + "b"), "", "longer than 255"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := QueryName(tc.msg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("QueryName = %q, %v; want error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("QueryName = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func FuzzQueryName(f *testing.F) {
	f.Add(query("a.b.c"))
	f.Add(query("escsecret-7f3a9c21b8d4e6q.off.escape.test"))
	f.Add([]byte{0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, msg []byte) {
		name, err := QueryName(msg)
		if err != nil {
			return
		}
		if len(name) > 254 {
			t.Fatalf("name of %d octets accepted", len(name))
		}
		if name != strings.ToLower(name) {
			t.Fatalf("name %q not lower-cased", name)
		}
	})
}
