package engine

import (
	"context"
	"io"
	"os"
	"path/filepath"
)

// BuildIsolated builds the image tag from dockerfile alone, the way an
// agent image proposed through supervise must be built (issue 15): the
// context is a new empty folder holding nothing but the Dockerfile, so a
// COPY or ADD can read no file of the operator's (the bottles folder held
// other bottles' literal secrets), and the build has no network
// (`--network none`), so a RUN step cannot reach anything past every
// sidecar of the bottle. It always runs docker build: an existing tag is
// never taken for the result of this Dockerfile.
func BuildIsolated(ctx context.Context, w io.Writer, tag string, dockerfile []byte) error {
	dir, err := os.MkdirTemp("", "claude-bottle-build-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	df := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(df, dockerfile, 0o644); err != nil {
		return err
	}
	return Build(ctx, w, "--network", "none", "--force-rm", "-t", tag, "-f", df, dir)
}
