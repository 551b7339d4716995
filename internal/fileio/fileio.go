// Package fileio holds the two file primitives every part of claude-bottle
// shares: writing a file atomically (a reader sees the old file or the new
// one, never a mix; the live config files, the state dir's metadata, the
// queue, caches) and decoding JSON strictly. It is a leaf: standard library
// only.
package fileio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// DecodeJSON strictly decodes one JSON value into v: unknown keys and
// trailing data are errors. The error names the file and, where the decoder
// knows it, the key.
func DecodeJSON(name string, data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%s: key %q: %s cannot hold a JSON %s", name, te.Field, te.Type, te.Value)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	if dec.More() {
		return fmt.Errorf("%s: trailing data after the JSON object", name)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%s: trailing data after the JSON object", name)
	}
	return nil
}

// WriteJSON writes v as indented JSON to path atomically: a temp file in the
// same dir, fsync, rename, fsync of the dir. A reader sees the old file or
// the new one, never a mix.
func WriteJSON(path string, v any, perm os.FileMode) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, append(data, '\n'), perm)
}

// WriteFileAtomic writes data to path atomically with the given mode.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
