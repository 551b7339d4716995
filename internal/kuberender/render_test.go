package kuberender

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/claude-bottle/claude-bottle/internal/plan"
	"github.com/claude-bottle/claude-bottle/internal/plantest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func render(t testing.TB, p *plan.Plan, in Inputs) ([]Object, []byte) {
	t.Helper()
	objs, err := Render(p, in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Marshal(objs)
	if err != nil {
		t.Fatal(err)
	}
	return objs, out
}

// goldenFile is the golden of a combination: the compose renderer's golden
// bottles, in the one shape Kubernetes has.
func goldenFile(c plantest.Combo) string { return filepath.Join("testdata", c.Features()+".yaml") }

// TestGoldenMatrix renders every golden bottle as `render --backend k8s`
// does (no inputs) and compares it with its golden file.
func TestGoldenMatrix(t *testing.T) {
	for _, c := range plantest.FeatureCombos() {
		t.Run(c.Features(), func(t *testing.T) {
			_, got := render(t, plantest.Plan(t, c), Inputs{})
			file := goldenFile(c)
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/kuberender -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s differs from the render (-golden +render); run with -update if the change is intended:\n%s", file, diff)
			}
		})
	}
}
