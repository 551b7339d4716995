package cli

import (
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/engine"
)

func TestCleanupSelectsOnlyItsBottle(t *testing.T) {
	const slug = "b-ab12c"
	cases := []struct {
		r    engine.Resource
		want bool
	}{
		{engine.Resource{Kind: "container", Name: "claude-bottle-b-ab12c", Slug: slug}, true},
		{engine.Resource{Kind: "container", Name: "whatever", Project: "claude-bottle-b-ab12c"}, true},
		{engine.Resource{Kind: "network", Name: "claude-bottle-b-ab12c_internal", Slug: slug}, true},
		// No labels (made by hand, or by compose before labels): exact names.
		{engine.Resource{Kind: "container", Name: "claude-bottle-b-ab12c"}, true},
		{engine.Resource{Kind: "container", Name: "claude-bottle-pipelock-b-ab12c"}, true},
		{engine.Resource{Kind: "container", Name: "claude-bottle-sidecars-b-ab12c"}, true},
		{engine.Resource{Kind: "network", Name: "claude-bottle-b-ab12c_egress"}, true},
		// Another bottle whose slug ends with this one's.
		{engine.Resource{Kind: "container", Name: "claude-bottle-x-b-ab12c", Slug: "x-b-ab12c"}, false},
		{engine.Resource{Kind: "container", Name: "claude-bottle-pipelock-x-b-ab12c"}, false},
		{engine.Resource{Kind: "network", Name: "claude-bottle-x-b-ab12c_internal"}, false},
		{engine.Resource{Kind: "container", Name: "claude-bottle-b-ab12c", Slug: "other-zz99z"}, false},
		{engine.Resource{Kind: "volume", Name: "claude-bottle-b-ab12c-extra"}, false},
	}
	for _, c := range cases {
		if got := belongsTo(c.r, slug); got != c.want {
			t.Errorf("belongsTo(%+v, %s) = %v, want %v", c.r, slug, got, c.want)
		}
	}
	for name, want := range map[string]bool{
		"b-ab12c": true, ".b-ab12c.tmp-123": true, "x-b-ab12c": false, ".x-b-ab12c.tmp-1": false, "b-ab12c2": false,
	} {
		if got := stateDirOf(name, slug); got != want {
			t.Errorf("stateDirOf(%q, %s) = %v, want %v", name, slug, got, want)
		}
	}
}
