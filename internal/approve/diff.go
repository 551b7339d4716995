package approve

import "strings"

// maxDiffLines bounds the quadratic LCS; beyond it the diff shows the whole
// old file removed and the new one added (still correct, just not minimal).
const maxDiffLines = 3000

// Diff returns a line diff of before → after: unchanged lines start with
// two blanks, removed ones with "- ", added ones with "+ ". Runs of more
// than 2*context unchanged lines are folded to "  ...".
func Diff(before, after string, context int) string {
	a, b := lines(before), lines(after)
	var ops []string
	if len(a) > maxDiffLines || len(b) > maxDiffLines {
		for _, l := range a {
			ops = append(ops, "- "+l)
		}
		for _, l := range b {
			ops = append(ops, "+ "+l)
		}
	} else {
		ops = lcsDiff(a, b)
	}
	return fold(ops, context)
}

func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func lcsDiff(a, b []string) []string {
	n, m := len(a), len(b)
	// l[i][j] = LCS length of a[i:], b[j:]
	l := make([][]int, n+1)
	for i := range l {
		l[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				l[i][j] = l[i+1][j+1] + 1
			} else {
				l[i][j] = max(l[i+1][j], l[i][j+1])
			}
		}
	}
	var out []string
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			out = append(out, "  "+a[i])
			i++
			j++
		case l[i+1][j] >= l[i][j+1]:
			out = append(out, "- "+a[i])
			i++
		default:
			out = append(out, "+ "+b[j])
			j++
		}
	}
	for ; i < n; i++ {
		out = append(out, "- "+a[i])
	}
	for ; j < m; j++ {
		out = append(out, "+ "+b[j])
	}
	return out
}

func fold(ops []string, context int) string {
	if context < 0 {
		return strings.Join(ops, "\n")
	}
	keep := make([]bool, len(ops))
	for i, o := range ops {
		if !strings.HasPrefix(o, "  ") {
			for k := max(0, i-context); k <= min(len(ops)-1, i+context); k++ {
				keep[k] = true
			}
		}
	}
	var out []string
	skipped := false
	for i, o := range ops {
		if keep[i] {
			out = append(out, o)
			skipped = false
		} else if !skipped {
			out = append(out, "  ...")
			skipped = true
		}
	}
	return strings.Join(out, "\n")
}
