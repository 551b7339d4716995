package gitgate

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Limits on what a pre-receive hook accepts on stdin. git sends one line per
// ref; an agent pushing more refs than this at once is refused rather than
// letting the gate spend unbounded time on it.
const (
	maxHookLines   = 10000
	maxHookLineLen = 4096
)

// RefUpdate is one line of a pre-receive hook's input: "<old> <new> <ref>".
type RefUpdate struct {
	Old, New, Ref string
}

// IsCreate reports whether the ref does not exist yet on the gate.
func (u RefUpdate) IsCreate() bool { return isZeroOID(u.Old) }

// IsDelete reports whether the push deletes the ref.
func (u RefUpdate) IsDelete() bool { return isZeroOID(u.New) }

func (u RefUpdate) String() string { return u.Old + " " + u.New + " " + u.Ref }

// ParseHookInput reads the ref updates git hands a pre-receive hook. Every
// line must be well formed; a bad line is an error naming it, and nothing is
// returned (the hook then refuses the whole push).
func ParseHookInput(r io.Reader) ([]RefUpdate, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var out []RefUpdate
	seen := map[string]bool{}
	for n := 1; ; n++ {
		line, err := readLine(br, maxHookLineLen)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("hook input line %d: %w", n, err)
		}
		if n > maxHookLines {
			return nil, fmt.Errorf("hook input: more than %d ref updates in one push; push fewer refs at a time", maxHookLines)
		}
		u, err := ParseHookLine(line)
		if err != nil {
			return nil, fmt.Errorf("hook input line %d: %w", n, err)
		}
		if seen[u.Ref] {
			return nil, fmt.Errorf("hook input line %d: ref %q updated twice in one push", n, u.Ref)
		}
		seen[u.Ref] = true
		out = append(out, u)
	}
	return out, nil
}

// readLine returns one line without its "\n". A final line without "\n" is
// accepted; io.EOF means no more lines.
func readLine(br *bufio.Reader, limit int) (string, error) {
	var b strings.Builder
	for {
		chunk, isPrefix, err := br.ReadLine()
		if err != nil {
			if err == io.EOF && b.Len() > 0 {
				return b.String(), nil
			}
			return "", err
		}
		if b.Len()+len(chunk) > limit {
			return "", fmt.Errorf("line longer than %d bytes", limit)
		}
		b.Write(chunk)
		if !isPrefix {
			return b.String(), nil
		}
	}
}

// ParseHookLine parses "<old> <new> <ref>" (single spaces, as git writes it).
func ParseHookLine(line string) (RefUpdate, error) {
	parts := strings.Split(line, " ")
	if len(parts) != 3 {
		return RefUpdate{}, fmt.Errorf("%q: want \"<old-oid> <new-oid> <ref>\"", clip(line))
	}
	u := RefUpdate{Old: parts[0], New: parts[1], Ref: parts[2]}
	if err := checkOID(u.Old); err != nil {
		return RefUpdate{}, fmt.Errorf("old object id: %w", err)
	}
	if err := checkOID(u.New); err != nil {
		return RefUpdate{}, fmt.Errorf("new object id: %w", err)
	}
	if len(u.Old) != len(u.New) {
		return RefUpdate{}, fmt.Errorf("object ids %q and %q differ in length", u.Old, u.New)
	}
	if u.IsCreate() && u.IsDelete() {
		return RefUpdate{}, fmt.Errorf("ref %q: both object ids are zero", clip(u.Ref))
	}
	if err := CheckRefName(u.Ref); err != nil {
		return RefUpdate{}, err
	}
	return u, nil
}

// checkOID accepts a lower-case SHA-1 (40) or SHA-256 (64) hex object id.
func checkOID(s string) error {
	if len(s) != 40 && len(s) != 64 {
		return fmt.Errorf("%q is not a 40- or 64-digit hex object id", clip(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return fmt.Errorf("%q is not a 40- or 64-digit hex object id", clip(s))
		}
	}
	return nil
}

func isZeroOID(s string) bool {
	return s != "" && strings.Trim(s, "0") == ""
}

// CheckRefName applies git's check-ref-format rules to a full ref name
// ("refs/..."), so a hostile name never reaches a git command line or a log
// unchecked.
func CheckRefName(ref string) error {
	bad := func(why string) error { return fmt.Errorf("ref %q: %s", clip(ref), why) }
	if !strings.HasPrefix(ref, "refs/") {
		return bad("must start with refs/")
	}
	if len(ref) > 1024 {
		return bad("longer than 1024 bytes")
	}
	if strings.HasSuffix(ref, "/") || strings.HasSuffix(ref, ".") {
		return bad("must not end with / or .")
	}
	if strings.Contains(ref, "..") || strings.Contains(ref, "@{") || strings.Contains(ref, "//") {
		return bad("must not contain .., @{ or //")
	}
	for i := 0; i < len(ref); i++ {
		c := ref[i]
		if c < 0x20 || c == 0x7f || strings.IndexByte(" ~^:?*[\\", c) >= 0 {
			return bad(fmt.Sprintf("character %q is not allowed", c))
		}
	}
	for _, comp := range strings.Split(ref, "/") {
		if comp == "" || strings.HasPrefix(comp, ".") || strings.HasSuffix(comp, ".lock") {
			return bad("a component is empty, starts with . or ends with .lock")
		}
	}
	if ref == "refs/heads/HEAD" {
		return bad("is reserved")
	}
	return nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
