package fileio

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type doc struct {
	Name  string   `json:"name"`
	Hosts []string `json:"hosts"`
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct{ in, wantErr string }{
		{`{"name":"a","hosts":["x"]}`, ""},
		{`{"name":"a"}` + "\n", ""},
		{`{"name":"a","extra":1}`, `f.json: json: unknown field "extra"`},
		{`{"name":1}`, `f.json: key "name": string cannot hold a JSON number`},
		{`{"name":"a"}{"name":"b"}`, "f.json: trailing data after the JSON object"},
		{`{"name":"a"} x`, "f.json: "},
		{``, "f.json: EOF"},
	}
	for _, tc := range tests {
		var d doc
		err := DecodeJSON("f.json", []byte(tc.in), &d)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case tc.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.wantErr)):
			t.Errorf("%q: err %v, want %q", tc.in, err, tc.wantErr)
		}
	}
}

func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"name":"a","hosts":["x"]}`))
	f.Add([]byte(`{"name":"a"} {}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d doc
		if err := DecodeJSON("f", data, &d); err != nil && !strings.HasPrefix(err.Error(), "f: ") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.json")
	if err := WriteFileAtomic(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(p, doc{Name: "two"}, 0o640); err != nil {
		t.Fatal(err)
	}
	var d doc
	data, err := os.ReadFile(p)
	if err != nil || DecodeJSON(p, data, &d) != nil || d.Name != "two" {
		t.Fatalf("read back %q, %v", data, err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	if es, _ := os.ReadDir(dir); len(es) != 1 {
		t.Errorf("temp files left: %v", es)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "no", "such"), nil, 0o600); err == nil {
		t.Error("a write into a missing folder succeeded")
	}
}
