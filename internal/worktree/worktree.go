// Package worktree writes a host folder as a tar stream for the agent
// container to unpack as its own user: nothing is chowned (the agent's
// capabilities are dropped), symlinks travel as links and are never
// followed out of the tree, and special files are left out with a warning.
// Nothing ever comes back this way: work leaves the bottle through git-gate.
package worktree

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Stats is what a copy carried.
type Stats struct {
	Files, Dirs, Links int
	Bytes              int64
	// Skipped lists the special files (devices, sockets, fifos) left out.
	Skipped []string
}

// Options tune Write.
type Options struct {
	// Progress, when set, gets a line at each tenth of the bytes of a tree
	// larger than ProgressMin.
	Progress    io.Writer
	ProgressMin int64
}

// Measure walks root without following any link and sums what Write will
// send.
func Measure(root string) (Stats, error) {
	var st Stats
	err := walk(root, func(rel string, d fs.DirEntry, info fs.FileInfo) error {
		switch m := info.Mode(); {
		case m.IsDir():
			st.Dirs++
		case m.IsRegular():
			st.Files++
			st.Bytes += info.Size()
		case m&fs.ModeSymlink != 0:
			st.Links++
		default:
			st.Skipped = append(st.Skipped, rel)
		}
		return nil
	})
	return st, err
}

func walk(root string, fn func(rel string, d fs.DirEntry, info fs.FileInfo) error) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		// WalkDir reports a symlink as a symlink (Lstat) and never
		// descends into one.
		info, err := d.Info()
		if err != nil {
			return err
		}
		return fn(filepath.ToSlash(rel), d, info)
	})
}

// Write sends root's contents (not root itself) as a tar stream to w.
// root must be a directory; a root that is a symlink is resolved first
// (the user named it), nothing below it ever is.
func Write(w io.Writer, root string, opt Options) (Stats, error) {
	root, err := filepath.EvalSymlinks(root)
	if err != nil {
		return Stats{}, err
	}
	if st, err := os.Stat(root); err != nil {
		return Stats{}, err
	} else if !st.IsDir() {
		return Stats{}, fmt.Errorf("%s is not a folder", root)
	}
	total := int64(0)
	if opt.Progress != nil {
		m, err := Measure(root)
		if err != nil {
			return Stats{}, err
		}
		total = m.Bytes
	}
	p := progress{w: opt.Progress, total: total, on: opt.Progress != nil && total > opt.ProgressMin}
	tw := tar.NewWriter(w)
	var st Stats
	err = walk(root, func(rel string, d fs.DirEntry, info fs.FileInfo) error {
		m := info.Mode()
		hdr := &tar.Header{
			Name:    rel,
			Mode:    int64(m.Perm()), // no setuid, setgid or sticky bits
			ModTime: info.ModTime().Truncate(time.Second),
			Format:  tar.FormatPAX,
		}
		switch {
		case m.IsDir():
			hdr.Typeflag, hdr.Name = tar.TypeDir, rel+"/"
			st.Dirs++
			return tw.WriteHeader(hdr)
		case m&fs.ModeSymlink != 0:
			target, err := os.Readlink(filepath.Join(root, rel))
			if err != nil {
				return err
			}
			// The link itself, as it is: its target (inside the tree or
			// not) is never read from the host.
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
			st.Links++
			return tw.WriteHeader(hdr)
		case m.IsRegular():
			n, err := writeFile(tw, filepath.Join(root, rel), hdr)
			if err != nil {
				return err
			}
			st.Files++
			st.Bytes += n
			p.add(n, st.Files)
			return nil
		default:
			st.Skipped = append(st.Skipped, rel)
			return nil
		}
	})
	if err != nil {
		return st, err
	}
	return st, tw.Close()
}

// writeFile sends one regular file, opened without following a link (it
// may have been swapped for one since the walk saw it).
func writeFile(tw *tar.Writer, path string, hdr *tar.Header) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if !info.Mode().IsRegular() {
		return 0, fmt.Errorf("%s changed while it was being copied (now %s); copy again", path, info.Mode().Type())
	}
	hdr.Typeflag, hdr.Size = tar.TypeReg, info.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return 0, err
	}
	n, err := io.CopyN(tw, f, hdr.Size)
	if errors.Is(err, io.EOF) {
		return n, fmt.Errorf("%s shrank while it was being copied; copy again", path)
	}
	return n, err
}

type progress struct {
	w         io.Writer
	total     int64
	done      int64
	lastTenth int64
	on        bool
}

func (p *progress) add(n int64, files int) {
	if !p.on {
		return
	}
	p.done += n
	if tenth := p.done * 10 / p.total; tenth > p.lastTenth {
		p.lastTenth = tenth
		fmt.Fprintf(p.w, "  %3d%%  %s of %s (%d files)\n", tenth*10, MB(p.done), MB(p.total), files)
	}
}

// MB formats a byte count for people.
func MB(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
