package gitgate

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Finding is a secret in a pushed commit. It never holds the secret: only
// where it is, which rule fired, and a redacted prefix.
type Finding struct {
	Commit   string
	File     string // "(commit message)" for the message
	Line     int
	RuleID   string
	Redacted string
}

// Places a finding can be that are not a file's content. A path or ref
// name is never printed: it is the secret.
const (
	inCommitMessage = "(commit message)"
	inCommitHeader  = "(commit header)" // author, committer, encoding, gpgsig, any extra header
	inTagMessage    = "(tag message)"
	inTagHeader     = "(tag header)" // tag name, tagger
	inPath          = "(file path)"
	inRefName       = "(ref name)"
)

func (f Finding) String() string {
	switch f.File {
	case inTagMessage:
		return fmt.Sprintf("tag %s, message line %d: rule %s (%s)", f.Commit, f.Line, f.RuleID, f.Redacted)
	case inTagHeader:
		return fmt.Sprintf("tag %s, header line %d (tag name or tagger): rule %s (%s)", f.Commit, f.Line, f.RuleID, f.Redacted)
	case inCommitHeader:
		return fmt.Sprintf("commit %s, header line %d (author, committer or an extra header): rule %s (%s)", f.Commit, f.Line, f.RuleID, f.Redacted)
	case inPath:
		return fmt.Sprintf("commit %s, a file path it adds or changes: rule %s (%s)", f.Commit, f.RuleID, f.Redacted)
	case inRefName:
		return fmt.Sprintf("the name of pushed ref #%d: rule %s (%s)", f.Line, f.RuleID, f.Redacted)
	}
	return fmt.Sprintf("commit %s, file %s, line %d: rule %s (%s)", f.Commit, f.File, f.Line, f.RuleID, f.Redacted)
}

// addedText is what one commit adds to one file: the added lines and the
// line number each has in the new file.
type addedText struct {
	Commit, File string
	Lines        []string
	Nums         []int
}

func (a *addedText) scan(sc textScanner) []Finding {
	if len(a.Lines) == 0 {
		return nil
	}
	var out []Finding
	for _, f := range sc.ScanString(strings.Join(a.Lines, "\n")) {
		line := 0
		if f.Line >= 1 && f.Line <= len(a.Nums) {
			line = a.Nums[f.Line-1]
		}
		out = append(out, Finding{Commit: a.Commit, File: a.File, Line: line, RuleID: f.RuleID, Redacted: f.Redacted})
	}
	return out
}

// logPatchArgs makes git print, for every commit in the range, a marker
// line "\x00<oid>" and then its patch against its first parent (so a merge's
// own changes are seen once; what it brings from other parents is in those
// parents' commits), every file as text, no renames (a renamed file's whole
// content counts as added), fixed a/ b/ prefixes whatever the config says.
var logPatchArgs = []string{
	"-c", "core.quotePath=true", "log", "-p", "--text", "--no-color", "--no-ext-diff",
	"--no-textconv", "--no-renames", "--diff-merges=first-parent", "--unified=0",
	"--src-prefix=a/", "--dst-prefix=b/", "--format=tformat:%x00%H",
}

// ParseLogPatch reads `git log -p` output produced with logPatchArgs and
// calls emit once per (commit, file) with the lines that commit adds. Lines
// inside a hunk are counted exactly from the hunk header, so content that
// looks like a header ("+++ b/x", "diff --git") is still content.
func ParseLogPatch(r io.Reader, emit func(*addedText) error) error {
	br := bufio.NewReaderSize(r, 256<<10)
	var (
		commit   string
		cur      *addedText
		oldLeft  int // lines of the current hunk still to come
		newLeft  int
		newLine  int
		lineNo   int
		inHunk   bool
		pendPath string
	)
	flush := func() error {
		if cur != nil && len(cur.Lines) > 0 {
			if err := emit(cur); err != nil {
				return err
			}
		}
		cur = nil
		return nil
	}
	for {
		raw, err := br.ReadString('\n')
		if raw == "" && err != nil {
			if err == io.EOF {
				break
			}
			return err
		}
		lineNo++
		line := strings.TrimSuffix(raw, "\n")
		if inHunk {
			if line == "" {
				return fmt.Errorf("patch line %d: empty line inside a hunk", lineNo)
			}
			switch line[0] {
			case '+':
				if cur != nil {
					cur.Lines = append(cur.Lines, line[1:])
					cur.Nums = append(cur.Nums, newLine)
				}
				newLine++
				newLeft--
			case '-':
				oldLeft--
			case ' ':
				newLine++
				oldLeft--
				newLeft--
			case '\\': // "\ No newline at end of file"
			default:
				return fmt.Errorf("patch line %d: unexpected %q inside a hunk", lineNo, clip(line))
			}
			if oldLeft < 0 || newLeft < 0 {
				return fmt.Errorf("patch line %d: hunk longer than its header says", lineNo)
			}
			if oldLeft == 0 && newLeft == 0 {
				inHunk = false
			}
			continue
		}
		switch {
		case strings.HasPrefix(line, "\x00"):
			if err := flush(); err != nil {
				return err
			}
			commit = line[1:]
			if checkOID(commit) != nil {
				return fmt.Errorf("patch line %d: bad commit marker %q", lineNo, clip(commit))
			}
		case strings.HasPrefix(line, "diff --git "):
			if err := flush(); err != nil {
				return err
			}
			pendPath = ""
		case strings.HasPrefix(line, "+++ "):
			p := strings.TrimPrefix(line, "+++ ")
			if p == "/dev/null" {
				pendPath = ""
				break
			}
			if strings.HasPrefix(p, "\"") {
				if uq, err := strconv.Unquote(p); err == nil {
					p = uq
				}
			}
			pendPath = strings.TrimPrefix(p, "b/")
			if err := flush(); err != nil {
				return err
			}
			cur = &addedText{Commit: commit, File: pendPath}
		case strings.HasPrefix(line, "@@ "):
			o, n, start, err := parseHunkHeader(line)
			if err != nil {
				return fmt.Errorf("patch line %d: %w", lineNo, err)
			}
			if commit == "" {
				return fmt.Errorf("patch line %d: hunk before any commit marker", lineNo)
			}
			oldLeft, newLeft, newLine = o, n, start
			inHunk = o > 0 || n > 0
		default:
			// commit-level blank lines and file headers (index, mode,
			// --- a/..., Binary ...) carry no added content.
		}
	}
	if inHunk {
		return fmt.Errorf("patch ended inside a hunk")
	}
	return flush()
}

// parseHunkHeader parses "@@ -a[,b] +c[,d] @@..." into old count, new
// count and the first new line number.
func parseHunkHeader(h string) (oldN, newN, newStart int, err error) {
	rest := strings.TrimPrefix(h, "@@ ")
	end := strings.Index(rest, " @@")
	if end < 0 {
		return 0, 0, 0, fmt.Errorf("bad hunk header %q", clip(h))
	}
	fields := strings.Fields(rest[:end])
	if len(fields) != 2 || !strings.HasPrefix(fields[0], "-") || !strings.HasPrefix(fields[1], "+") {
		return 0, 0, 0, fmt.Errorf("bad hunk header %q", clip(h))
	}
	_, oldN, err = parseRange(fields[0][1:])
	if err != nil {
		return 0, 0, 0, fmt.Errorf("bad hunk header %q: %w", clip(h), err)
	}
	newStart, newN, err = parseRange(fields[1][1:])
	if err != nil {
		return 0, 0, 0, fmt.Errorf("bad hunk header %q: %w", clip(h), err)
	}
	return oldN, newN, newStart, nil
}

func parseRange(s string) (start, n int, err error) {
	a, b, hasCount := strings.Cut(s, ",")
	start, err = strconv.Atoi(a)
	if err != nil || start < 0 {
		return 0, 0, fmt.Errorf("bad line number %q", a)
	}
	n = 1
	if hasCount {
		n, err = strconv.Atoi(b)
		if err != nil || n < 0 || n > 1<<30 {
			return 0, 0, fmt.Errorf("bad line count %q", b)
		}
	}
	return start, n, nil
}

// scanRange finds secrets in every commit reachable from tips and from no
// existing ref ("git rev-list <tips> --not --all"): each one's patch, its
// message (every rule), its raw header block and every path it adds or
// changes (the bottle's known secrets). Run from a pre-receive hook, git's
// quarantine environment makes the pushed objects visible and `--all` is
// still the pre-push refs.
func scanRange(ctx context.Context, env []string, tips []string, sc *knownScanner) ([]Finding, int, error) {
	if len(tips) == 0 {
		return nil, 0, nil
	}
	revArgs := append(append([]string{}, tips...), "--not", "--all")
	out, err := gitOutput(ctx, env, append([]string{"rev-list"}, revArgs...)...)
	if err != nil {
		return nil, 0, err
	}
	commits := strings.Fields(string(out))
	if len(commits) == 0 {
		return nil, 0, nil
	}
	var findings []Finding

	// Raw commit objects: the header block (author, committer and any
	// extra header an agent writes with hash-object) against the known
	// secrets, the message against every rule. gitleaks is kept off the
	// headers: a gpgsig block is base64 noise to its entropy rules.
	objs, err := catObjects(ctx, env, commits, "commit")
	if err != nil {
		return nil, 0, err
	}
	for _, c := range commits {
		hdr, msg := splitObject(objs[c])
		for _, f := range sc.known(hdr) {
			findings = append(findings, Finding{Commit: c, File: inCommitHeader, Line: f.Line, RuleID: f.RuleID, Redacted: f.Redacted})
		}
		for _, f := range sc.ScanString(msg) {
			findings = append(findings, Finding{Commit: c, File: inCommitMessage, Line: f.Line, RuleID: f.RuleID, Redacted: f.Redacted})
		}
	}

	// Paths: every file a new commit adds or changes, as raw bytes (-z),
	// including empty files and mode changes that have no patch lines.
	pfs, err := scanPaths(ctx, env, revArgs, sc)
	if err != nil {
		return nil, 0, err
	}
	findings = append(findings, pfs...)

	// Patches, streamed.
	cmd := exec.CommandContext(ctx, "git", append(append(append([]string{}, logPatchArgs...), revArgs...), "--")...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &limitedWriter{w: &stderr, n: 8 << 10}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, err
	}
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	// The scan is most of a large push's cost: files are scanned on every
	// core while git log streams the rest.
	var (
		mu      sync.Mutex
		patchFs []Finding
		wg      sync.WaitGroup
		work    = make(chan *addedText, 64)
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range work {
				if fs := a.scan(sc); len(fs) > 0 {
					mu.Lock()
					patchFs = append(patchFs, fs...)
					mu.Unlock()
				}
			}
		}()
	}
	perr := ParseLogPatch(stdout, func(a *addedText) error {
		work <- a
		return nil
	})
	close(work)
	wg.Wait()
	if perr != nil {
		_, _ = io.Copy(io.Discard, stdout)
	}
	// Workers finish in any order: report as git log lists them (commit,
	// then path), then by line.
	order := make(map[string]int, len(commits))
	for i, c := range commits {
		order[c] = i
	}
	sort.SliceStable(patchFs, func(i, j int) bool {
		a, b := patchFs[i], patchFs[j]
		if a.Commit != b.Commit {
			return order[a.Commit] < order[b.Commit]
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	findings = append(findings, patchFs...)
	werr := cmd.Wait()
	if perr != nil {
		return nil, 0, fmt.Errorf("reading the pushed commits' patches: %w", perr)
	}
	if werr != nil {
		return nil, 0, fmt.Errorf("git log: %v: %s", werr, strings.TrimSpace(stderr.String()))
	}
	return findings, len(commits), nil
}

// catObjects returns each object's raw body, read with one `git cat-file
// --batch`; every object must be of type typ.
func catObjects(ctx context.Context, env []string, oids []string, typ string) (map[string]string, error) {
	cmd := exec.CommandContext(ctx, "git", "cat-file", "--batch")
	cmd.Env = env
	cmd.Stdin = strings.NewReader(strings.Join(oids, "\n") + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &limitedWriter{w: &stderr, n: 8 << 10}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	br := bufio.NewReader(stdout)
	objs := make(map[string]string, len(oids))
	var perr error
	for range oids {
		hdr, err := br.ReadString('\n')
		if err != nil {
			perr = fmt.Errorf("git cat-file: %w", err)
			break
		}
		f := strings.Fields(hdr)
		if len(f) != 3 || f[1] != typ {
			perr = fmt.Errorf("git cat-file: unexpected %q (want a %s)", clip(hdr), typ)
			break
		}
		size, err := strconv.Atoi(f[2])
		if err != nil || size < 0 {
			perr = fmt.Errorf("git cat-file: bad size in %q", clip(hdr))
			break
		}
		body := make([]byte, size+1)
		if _, err := io.ReadFull(br, body); err != nil {
			perr = fmt.Errorf("git cat-file: %w", err)
			break
		}
		objs[f[0]] = string(body[:size])
	}
	_, _ = io.Copy(io.Discard, br)
	werr := cmd.Wait()
	if perr != nil {
		return nil, perr
	}
	if werr != nil {
		return nil, fmt.Errorf("git cat-file: %v: %s", werr, strings.TrimSpace(stderr.String()))
	}
	return objs, nil
}

// splitObject cuts a raw commit or tag object at the first blank line into
// its header block and its message.
func splitObject(body string) (hdr, msg string) {
	hdr, msg, _ = strings.Cut(body, "\n\n")
	return hdr, msg
}

// pathLogArgs lists, for every commit in the range, a marker "\x00<oid>"
// and the paths it adds or changes against its first parent, NUL-ended and
// unquoted (-z), no renames.
var pathLogArgs = []string{
	"log", "-z", "--no-color", "--no-renames", "--diff-merges=first-parent",
	"--name-only", "--format=tformat:%x00%H",
}

// scanPaths matches the bottle's known secrets in every path the commits
// in revArgs add or change. A file name is sent upstream as a tree entry,
// so `agent-notes/<secret>.txt` is a leak like a line of content.
func scanPaths(ctx context.Context, env []string, revArgs []string, sc *knownScanner) ([]Finding, error) {
	if len(sc.forms) == 0 {
		return nil, nil
	}
	out, err := gitOutput(ctx, env, append(append(append([]string{}, pathLogArgs...), revArgs...), "--")...)
	if err != nil {
		return nil, err
	}
	var findings []Finding
	for _, cp := range parsePathLog(string(out)) {
		for _, f := range sc.known(cp.path) {
			findings = append(findings, Finding{Commit: cp.commit, File: inPath, RuleID: f.RuleID, Redacted: f.Redacted})
		}
	}
	return findings, nil
}

type commitPath struct{ commit, path string }

// parsePathLog reads `git log` output made with pathLogArgs: for each
// commit "\x00<oid>\x00", then (if it touched any) "\n" and its paths, each
// ended by NUL. Paths are never empty, so an empty field always precedes
// a commit id; a path that looks like an id is still a path.
func parsePathLog(out string) []commitPath {
	var res []commitPath
	fields := strings.Split(out, "\x00")
	commit := ""
	for i := 0; i < len(fields); i++ {
		if fields[i] == "" {
			if i+1 < len(fields) && fields[i+1] != "" {
				commit = fields[i+1]
				i++
				if i+1 < len(fields) && fields[i+1] != "" {
					fields[i+1] = strings.TrimPrefix(fields[i+1], "\n")
				}
			}
			continue
		}
		res = append(res, commitPath{commit: commit, path: fields[i]})
	}
	return res
}

// limitedWriter keeps the first n bytes and drops the rest.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		_, _ = l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

// gitOutput runs git with env in the current directory and returns stdout;
// the error carries git's stderr.
func gitOutput(ctx context.Context, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &limitedWriter{w: &stderr, n: 8 << 10}
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("git %s: %v: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
