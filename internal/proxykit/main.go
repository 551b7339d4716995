package proxykit

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// ParseFlags is the front of every daemon's run(args, stdout, stderr) int:
// it parses args into fs, prints the usage to stdout for -h / --help, and
// refuses positional arguments. done reports that run should return code
// at once (0 after help, 2 after a bad flag); otherwise carry on.
func ParseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (code int, done bool) {
	fs.SetOutput(stderr)
	// The flag package prints the usage itself on -h and on a bad flag;
	// it is printed here instead, once, to the right stream.
	usage := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = usage
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0, true
		}
		fs.Usage()
		return 2, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return 2, true
	}
	return 0, false
}
