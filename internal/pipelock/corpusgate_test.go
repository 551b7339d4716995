package pipelock

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

// corpusGate tallies a corpus run by group (class, placement or wire, and
// "all") and holds every group to the gates: at least 99 % of the
// malicious cases caught, at most 1 % of the benign ones. The request and
// the response corpora share it, so both are judged alike.
type corpusGate struct {
	verb             string // "blocked" or "flagged", for the table and errors
	by               map[string]*gateTally
	missed, falsePos []string
}

type gateTally struct{ mal, malHit, ben, benHit int }

func newCorpusGate(verb string) *corpusGate {
	return &corpusGate{verb: verb, by: map[string]*gateTally{}}
}

// add counts one case in each of groups and in "all".
func (g *corpusGate) add(name string, malicious, hit bool, why string, groups ...string) {
	for _, k := range append(groups, "all") {
		tl := g.by[k]
		if tl == nil {
			tl = &gateTally{}
			g.by[k] = tl
		}
		if malicious {
			tl.mal++
			if hit {
				tl.malHit++
			}
		} else {
			tl.ben++
			if hit {
				tl.benHit++
			}
		}
	}
	if malicious && !hit {
		g.missed = append(g.missed, name)
	}
	if !malicious && hit {
		g.falsePos = append(g.falsePos, name+" ("+why+")")
	}
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// check logs the table (and writes it to $outEnv when set), then fails
// below minCases cases or any group outside the gates.
func (g *corpusGate) check(t *testing.T, what string, minCases int, outEnv string) {
	t.Helper()
	keys := make([]string, 0, len(g.by))
	for k := range g.by {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var tbl strings.Builder
	fmt.Fprintf(&tbl, "| group | malicious | %s | benign | %s |\n|---|---|---|---|---|\n", g.verb, g.verb)
	for _, k := range keys {
		tl := g.by[k]
		fmt.Fprintf(&tbl, "| %s | %d | %.1f%% | %d | %.1f%% |\n", k, tl.mal, pct(tl.malHit, tl.mal), tl.ben, pct(tl.benHit, tl.ben))
	}
	all := g.by["all"]
	n := 0
	if all != nil {
		n = all.mal + all.ben
	}
	t.Logf("%s: %d cases\n%s", what, n, tbl.String())
	if len(g.missed) > 0 {
		t.Logf("missed: %v", g.missed)
	}
	if len(g.falsePos) > 0 {
		t.Logf("false positives: %v", g.falsePos)
	}
	if out := os.Getenv(outEnv); out != "" {
		_ = os.WriteFile(out, []byte(tbl.String()), 0o644)
	}
	if n < minCases {
		t.Fatalf("%s has %d cases, want at least %d", what, n, minCases)
	}
	for _, k := range keys {
		tl := g.by[k]
		if p := pct(tl.malHit, tl.mal); tl.mal > 0 && p < 99 {
			t.Errorf("%s: malicious %s %.1f%% < 99%%", k, g.verb, p)
		}
		if p := pct(tl.benHit, tl.ben); tl.ben > 0 && p > 1 {
			t.Errorf("%s: benign %s %.1f%% > 1%%", k, g.verb, p)
		}
	}
}
