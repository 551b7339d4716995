package activity

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/claude-bottle/claude-bottle/internal/layout"
)

// A state dir's compose.log grows by one run's logs at every teardown
// (resume keeps it). Past MaxLogSize it is rotated to compose.log.1, .1 to
// .2 and so on; the oldest beyond MaxRotations goes. Rotation is by size,
// so a bottle resumed many times keeps every run until the total nears
// MaxLogSize*(MaxRotations+1).
const (
	MaxLogSize   = 16 << 20
	MaxRotations = 9
)

// RotatedLog is the path of compose.log.<n>.
func RotatedLog(sd layout.StateDir, n int) string { return fmt.Sprintf("%s.%d", sd.ComposeLog(), n) }

// RotateLog rotates compose.log when it is over MaxLogSize.
func RotateLog(sd layout.StateDir) error {
	st, err := os.Stat(sd.ComposeLog())
	if errors.Is(err, fs.ErrNotExist) || (err == nil && st.Size() < MaxLogSize) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.Remove(RotatedLog(sd, MaxRotations)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for i := MaxRotations - 1; i >= 1; i-- {
		if err := os.Rename(RotatedLog(sd, i), RotatedLog(sd, i+1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return os.Rename(sd.ComposeLog(), RotatedLog(sd, 1))
}
