package dlp

import (
	"fmt"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/secretscan/secrettest"
)

// benignAssignedValues are values that follow credential-named keys in
// ordinary traffic: identifiers in every case style, versions, dates,
// placeholders, secret names and references, ids, digests, words with
// numbers. Generated, so the calibration sees thousands of them.
func benignAssignedValues(g *secrettest.Gen) []string {
	words := []string{"read", "only", "collaborator", "client", "credentials", "flow", "next", "token", "value", "prod", "payments",
		"webhook", "signing", "service", "account", "default", "primary", "secondary", "bearer", "basic", "oauth", "refresh",
		"access", "level", "admin", "user", "group", "project", "secret", "name", "manager", "vault", "store", "key", "rotation",
		"policy", "expires", "session", "cookie", "config", "github", "registry", "docker", "deploy", "staging", "release", "build"}
	pick := func() string { return words[g.IntN(len(words))] }
	title := func(s string) string { return strings.ToUpper(s[:1]) + s[1:] }
	var out []string
	for range 400 {
		n := 2 + g.IntN(4)
		var camel, pascal, snake, kebab, dotted []string
		for i := range n {
			w := pick()
			if i == 0 {
				camel = append(camel, w)
			} else {
				camel = append(camel, title(w))
			}
			pascal = append(pascal, title(w))
			snake = append(snake, w)
			kebab = append(kebab, w)
			dotted = append(dotted, w)
		}
		num := fmt.Sprint(g.IntN(100000))
		out = append(out,
			strings.Join(camel, ""), strings.Join(pascal, ""), strings.Join(pascal, "")+num, strings.Join(camel, "")+"V2",
			strings.Join(snake, "_"), strings.ToUpper(strings.Join(snake, "_")), strings.Join(kebab, "-")+"-v"+num[:1],
			strings.Join(dotted, "."), strings.Join(kebab, "-")+"-"+num, "projects/"+num+"/secrets/"+strings.Join(kebab, "-")+"/versions/latest",
			title(pick())+num+title(pick()), fmt.Sprintf("%s-%s-%04d", pick(), pick(), g.IntN(10000)),
		)
	}
	for range 200 {
		out = append(out,
			g.UUID(), g.HexDigest(40), g.HexDigest(64), strings.ToUpper(g.HexDigest(32)),
			fmt.Sprintf("%d-%02d-%02dT%02d", 2020+g.IntN(8), 1+g.IntN(12), 1+g.IntN(28), g.IntN(24)),
			fmt.Sprintf("v%d.%d.%d-rc.%d", g.IntN(5), g.IntN(30), g.IntN(30), g.IntN(9)),
			fmt.Sprintf("%d", 1000000000+g.IntN(1000000000)),
			"U0"+strings.ToUpper(g.Str("abcdefghijklmnopqrstuvwxyz0123456789", 9)), // chat user ids
			fmt.Sprintf("ORD-%d-%05d", 2026, g.IntN(100000)),
		)
	}
	out = append(out, "your-api-key-goes-here", "changeme-in-production", "REPLACE_WITH_YOUR_TOKEN", "xxxxxxxxxxxxxxxxxxxx",
		"client_secret_basic", "OAuth2ClientCredentialsFlow", "ReadOnlyCollaborator", "application/json",
		"bert-base-uncased-vocab-v2", "prod/payments/webhook-signing", "app-secrets-production", "database-password")
	return out
}

// randomAssigned makes random values of length n from the alphabets keys
// and passwords use.
func randomAssigned(g *secrettest.Gen, n int) []string {
	sets := []string{
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
	}
	var out []string
	for range 1000 {
		out = append(out, g.Str(sets[g.IntN(len(sets))], n))
	}
	return out
}

// TestAssignmentFloorCalibration measures the assignment rule's value test
// at each length on the benign values and on random ones, and checks the
// chosen floor: no benign value is judged random, and at least 99% of
// random values are from 18 characters (95% from AssignMinLen, 14). At 12
// characters 3 of 6,612 benign values ("UserKey61572") were judged random
// and only 86% of random ones: that is why the floor is 14.
func TestAssignmentFloorCalibration(t *testing.T) {
	g := secrettest.New(61)
	benign := benignAssignedValues(g)
	fp := 0
	var fps []string
	for _, v := range benign {
		if randomValue([]byte(v)) {
			fp++
			if len(fps) < 10 {
				fps = append(fps, v)
			}
		}
	}
	var tbl strings.Builder
	tbl.WriteString("| length | random values judged random |\n|---|---|\n")
	for n := 8; n <= 32; n += 2 {
		vals := randomAssigned(g, n)
		hit := 0
		for _, v := range vals {
			if randomValue([]byte(v)) {
				hit++
			}
		}
		rate := 100 * float64(hit) / float64(len(vals))
		fmt.Fprintf(&tbl, "| %d | %.1f%% |\n", n, rate)
		switch {
		case n >= 18 && rate < 99:
			t.Errorf("length %d: %.1f%% of random values judged random, want >= 99%%", n, rate)
		case n >= AssignMinLen && rate < 95:
			t.Errorf("length %d: %.1f%% of random values judged random, want >= 95%%", n, rate)
		case n < AssignMinLen && rate > 0:
			t.Errorf("length %d under the floor: %.1f%% judged random", n, rate)
		}
	}
	t.Logf("benign values: %d, judged random: %d %v\n%s", len(benign), fp, fps, tbl.String())
	if fp > 0 {
		t.Errorf("%d benign values judged random: %v", fp, fps)
	}
}
