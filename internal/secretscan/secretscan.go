// Package secretscan wraps gitleaks v8 (used as a library) behind a small,
// concurrency-safe API shared by pipelock (DLP on outgoing requests) and
// git-gate (secrets in pushed commits).
//
// gitleaks keeps process-wide state: NewDetectorDefaultConfig reads its rules
// through the global viper instance, and it logs through a global zerolog
// logger on stderr. So the detectors are built exactly once (sync.Once) and
// the logger is silenced before that. A built Detector is safe to share:
// DetectString keeps no findings in the detector.
//
// The project builds without gitleaks' gore2regex tag (stdlib regexp).
// go-re2 is ~4x faster on raw gitleaks scans but compiles its wasm module in
// package init in every process of the binary (~0.6 CPU-s, ~25 MB each),
// which broke the sidecar bundle's memory and start-up budgets; with the
// prefilter below, pipelock is as fast without it (bench/sidecars.md).
package secretscan

import (
	"fmt"
	"strings"
	"sync"

	"github.com/rs/zerolog"
	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/logging"
	"github.com/zricethezav/gitleaks/v8/report"
)

// GenericRuleID is gitleaks' catch-all "key = high-entropy value" rule. It
// costs about ten times more than any other rule, so ScanBulk skips it.
const GenericRuleID = "generic-api-key"

// MaxDecodeDepth is how many nested encodings (base64, hex, percent) gitleaks
// peels before matching. At 0 (the library default) a base64-wrapped token
// is missed.
const MaxDecodeDepth = 2

// Chunking for large inputs: gitleaks' throughput per byte falls as the
// fragment grows, so long inputs are scanned in windows that overlap by more
// than the longest realistic secret, so a secret on a boundary is still whole
// in one window.
const (
	ChunkSize    = 32 << 10
	ChunkOverlap = 1 << 10
)

// Finding is one secret found. It never carries the secret itself.
type Finding struct {
	RuleID      string
	Description string
	// Redacted is at most a short prefix of the secret followed by "…".
	Redacted string
	// Line is 1-based; StartColumn is 1-based within that line. Best effort
	// for decoded (base64/hex) matches.
	Line        int
	StartColumn int
}

func (f Finding) String() string {
	return fmt.Sprintf("%s (%s) at line %d col %d: %s", f.RuleID, f.Description, f.Line, f.StartColumn, f.Redacted)
}

// Scanner runs gitleaks' default rules. Use Default to get the shared one.
type Scanner struct {
	full *detect.Detector // every default rule
	bulk *detect.Detector // every default rule except GenericRuleID
}

var (
	once       sync.Once
	defaultSc  *Scanner
	defaultErr error
)

func init() {
	// Before any gitleaks code can log: its default logger writes
	// human-oriented lines to stderr, which would break our JSON logs.
	logging.Logger = zerolog.Nop()
}

// Default returns the process-wide Scanner, built on first use.
func Default() (*Scanner, error) {
	once.Do(func() {
		logging.Logger = zerolog.Nop()
		defaultSc, defaultErr = build()
	})
	return defaultSc, defaultErr
}

// MustDefault is Default for callers that cannot go on without it.
func MustDefault() *Scanner {
	s, err := Default()
	if err != nil {
		panic(err)
	}
	return s
}

func build() (*Scanner, error) {
	full, err := detect.NewDetectorDefaultConfig()
	if err != nil {
		return nil, fmt.Errorf("secretscan: loading gitleaks default rules: %w", err)
	}
	full.MaxDecodeDepth = MaxDecodeDepth
	dropStopwordTries(&full.Config)
	bulk := detect.NewDetector(withoutRule(full.Config, GenericRuleID))
	// The bulk path does not decode: its caller (dlp) hands it every
	// decoded view itself (dlp.Layers), and gitleaks' decoder, run again
	// over long token runs, was half the cost of scanning a base64 upload.
	bulk.MaxDecodeDepth = 0
	return &Scanner{full: full, bulk: bulk}, nil
}

// dropStopwordTries replaces every allowlist that has stop words with a copy
// that has no Aho-Corasick trie over them. gitleaks builds that trie in
// Allowlist.Validate with a 2 KiB transition row per state: for
// generic-api-key's ~1,500 stop words it is ~9 MB of heap, over half of what
// the rules cost, held by every sidecar process that links them. Without the
// trie, ContainsStopWord falls back to strings.Contains over the same
// lower-cased, de-duplicated words: the same answer, a few microseconds per
// candidate secret (it runs only after a rule's regex matched).
//
// The copy keeps every exported field; the unexported ones it loses
// (combined regex, commit map) have exact fallbacks in gitleaks too. The
// slices are updated in place, so the detector already built over cfg sees
// the copies.
func dropStopwordTries(cfg *config.Config) {
	lighten := func(as []*config.Allowlist) {
		for i, a := range as {
			if a == nil || len(a.StopWords) == 0 {
				continue
			}
			as[i] = &config.Allowlist{
				Description:    a.Description,
				MatchCondition: a.MatchCondition,
				Commits:        a.Commits,
				Paths:          a.Paths,
				RegexTarget:    a.RegexTarget,
				Regexes:        a.Regexes,
				StopWords:      a.StopWords,
			}
		}
	}
	lighten(cfg.Allowlists)
	for _, r := range cfg.Rules {
		lighten(r.Allowlists)
	}
}

// withoutRule copies cfg without one rule, recomputing the keyword set so the
// prefilter no longer wakes up for that rule's (very common) keywords.
func withoutRule(cfg config.Config, id string) config.Config {
	out := cfg
	out.Rules = make(map[string]config.Rule, len(cfg.Rules))
	out.Keywords = map[string]struct{}{}
	out.OrderedRules = nil
	for _, rid := range cfg.OrderedRules {
		if rid == id {
			continue
		}
		out.OrderedRules = append(out.OrderedRules, rid)
	}
	for rid, r := range cfg.Rules {
		if rid == id {
			continue
		}
		out.Rules[rid] = r
		for _, k := range r.Keywords {
			out.Keywords[strings.ToLower(k)] = struct{}{}
		}
	}
	return out
}

// ScanString runs every rule (generic-api-key included) over s. Long inputs
// are scanned in overlapping chunks.
func (s *Scanner) ScanString(in string) []Finding { return scan(s.full, in) }

// ScanBytes is ScanString over a byte slice.
func (s *Scanner) ScanBytes(b []byte) []Finding { return scan(s.full, string(b)) }

// ScanBulk runs every rule except generic-api-key, on the text as it is (no
// base64/hex/percent decoding: pass decoded views yourself, as dlp.Layers
// does): the fast path for large bodies, where that rule dominates the cost
// and mostly finds noise.
func (s *Scanner) ScanBulk(in string) []Finding { return scan(s.bulk, in) }

func scan(d *detect.Detector, in string) []Finding {
	if len(in) <= ChunkSize+ChunkOverlap {
		return convert(d.DetectString(in), 0, nil)
	}
	return scanFrom(d, in, 0, map[string]bool{})
}

// scanFrom scans in (which starts after lineBase newlines of the whole
// input) in overlapping chunks, skipping findings already in seen.
func scanFrom(d *detect.Detector, in string, lineBase int, seen map[string]bool) []Finding {
	var out []Finding
	line := lineBase // newlines before the current chunk start
	prev := 0
	for start := 0; start < len(in); start += ChunkSize {
		end := min(start+ChunkSize+ChunkOverlap, len(in))
		line += strings.Count(in[prev:start], "\n")
		prev = start
		out = append(out, convert(d.DetectString(in[start:end]), line, seen)...)
		if end == len(in) {
			break
		}
	}
	return out
}

func convert(fs []report.Finding, lineBase int, seen map[string]bool) []Finding {
	out := make([]Finding, 0, len(fs))
	for _, f := range fs {
		if f.RuleID == GenericRuleID && isUUID(f.Secret) {
			continue // request ids, idempotency keys: identifiers, not secrets
		}
		if seen != nil {
			k := f.RuleID + "\x00" + f.Secret
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		out = append(out, Finding{
			RuleID:      f.RuleID,
			Description: f.Description,
			Redacted:    Redact(f.Secret),
			Line:        lineBase + max(f.StartLine, 0) + 1,
			StartColumn: f.StartColumn,
		})
	}
	return out
}

// Redact shows at most the first four characters of a secret, and fewer for
// a short one (a quarter of it), followed by "…". The rest never leaves.
func Redact(secret string) string {
	n := min(4, len(secret)/4)
	return secret[:n] + "…"
}

// isUUID reports whether s is exactly a canonical 8-4-4-4-12 hex UUID.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
