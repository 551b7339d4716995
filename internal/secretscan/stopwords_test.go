package secretscan

import (
	"reflect"
	"strings"
	"testing"

	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/detect"
)

// allowlistsWithStopWords lists every allowlist of cfg that has stop words,
// keyed by rule id and position, so two configs can be compared pairwise.
func allowlistsWithStopWords(cfg config.Config) map[string]*config.Allowlist {
	out := map[string]*config.Allowlist{}
	add := func(key string, as []*config.Allowlist) {
		for i, a := range as {
			if a != nil && len(a.StopWords) > 0 {
				out[key+"#"+string(rune('0'+i))] = a
			}
		}
	}
	add("global", cfg.Allowlists)
	for id, r := range cfg.Rules {
		add(id, r.Allowlists)
	}
	return out
}

// The scanner's rules hold no stop-word trie (the ~9 MB this saves is the
// point), yet every stop-word decision is the one gitleaks' own trie makes.
func TestStopwordTriesDroppedSameAnswers(t *testing.T) {
	sc, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	stock, err := detect.NewDetectorDefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	ours := allowlistsWithStopWords(sc.full.Config)
	theirs := allowlistsWithStopWords(stock.Config)
	if len(ours) == 0 || len(ours) != len(theirs) {
		t.Fatalf("allowlists with stop words: ours %d, gitleaks' %d", len(ours), len(theirs))
	}
	for key, a := range ours {
		if trie := reflect.ValueOf(a).Elem().FieldByName("stopwordTrie"); !trie.IsValid() || !trie.IsNil() {
			t.Fatalf("%s: allowlist still holds a stop-word trie (field valid=%v)", key, trie.IsValid())
		}
		b := theirs[key]
		if b == nil {
			t.Fatalf("%s: no such allowlist in gitleaks' stock config", key)
		}
		if len(a.StopWords) != len(b.StopWords) || len(a.Regexes) != len(b.Regexes) || a.RegexTarget != b.RegexTarget {
			t.Fatalf("%s: allowlist differs from gitleaks' own", key)
		}
		var inputs []string
		for i, w := range b.StopWords {
			inputs = append(inputs, w, "Zq9"+strings.ToUpper(w)+"x7Kp", "k8"+w[:len(w)/2]+"Qv3")
			if i > 400 {
				break
			}
		}
		inputs = append(inputs, "", "Zq9x7KpR2mW4vT8n", "AKIAZQ9X7KPR2MW4VT8N")
		for _, in := range inputs {
			gotOK, _ := a.ContainsStopWord(in)
			wantOK, _ := b.ContainsStopWord(in)
			if gotOK != wantOK {
				t.Fatalf("%s: ContainsStopWord(%q) = %v, gitleaks' trie says %v", key, in, gotOK, wantOK)
			}
		}
	}
	// And whole detections agree, stop words inside candidate secrets included.
	texts := []string{
		`api_key = "Zq9x7KpR2mW4vT8nB6cY"`,
		`api_key = "exampleZq9x7KpR2mW4vT8n"`,
		`client_secret: "sample-Zq9x7KpR2mW4vT8n"`,
		`password = "changeme1234567890abcdXYZ"`,
		`token: "8f14e45fceea167a5a36dedd4bea2543"`,
		`auth = "Bearer Zq9x7KpR2mW4vT8nB6cYdummy"`,
	}
	found := 0
	for _, text := range texts {
		got, want := sc.full.DetectString(text), stock.DetectString(text)
		if len(got) > 0 {
			found++
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d findings, gitleaks' stock detector %d", text, len(got), len(want))
		}
		for i := range got {
			if got[i].RuleID != want[i].RuleID || got[i].Secret != want[i].Secret {
				t.Fatalf("%q: finding %d is %s %q, stock %s %q", text, i, got[i].RuleID, got[i].Secret, want[i].RuleID, want[i].Secret)
			}
		}
	}
	// Some texts must be found and some let through by a stop word, or the
	// comparison shows nothing.
	if found == 0 || found == len(texts) {
		t.Fatalf("%d of %d texts had findings: the cases no longer exercise stop words", found, len(texts))
	}
}
