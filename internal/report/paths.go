package report

import (
	"fmt"
	"strings"
)

// Paths maps the files of creation frames to paths in the repository
// before SARIF, GitHub annotations and JUnit locate findings, for
// snapshots whose producer recorded other paths: absolute ones of the
// build machine, or module-prefixed ones (docs/ci.md, "Source paths").
// The text, markdown and JSON reports show the frames as recorded.
type Paths struct {
	// Map are the FROM=TO rewrites (--path-map), tried in order: the
	// first FROM that is a prefix of the file, ending at a "/" or at the
	// file's end, is replaced by TO.
	Map []PathRewrite
	// SourceRoot (--source-root) is an absolute directory: a file under it,
	// once mapped, is made relative to it.
	SourceRoot string
}

// PathRewrite is one --path-map FROM=TO.
type PathRewrite struct{ From, To string }

// ParsePathRewrite reads FROM=TO; FROM is not empty, TO may be (the
// prefix is then dropped).
func ParsePathRewrite(v string) (PathRewrite, error) {
	from, to, ok := strings.Cut(v, "=")
	if !ok || from == "" {
		return PathRewrite{}, fmt.Errorf("invalid path map %q: want FROM=TO, such as /build/src=. or github.com/you/app=", v)
	}
	return PathRewrite{From: from, To: to}, nil
}

// Apply maps one frame's file.
func (p Paths) Apply(file string) string {
	if len(p.Map) == 0 && p.SourceRoot == "" {
		return file
	}
	f := strings.ReplaceAll(file, `\`, "/")
	for _, m := range p.Map {
		if rest, ok := cutDir(f, strings.ReplaceAll(m.From, `\`, "/")); ok {
			to := strings.TrimSuffix(strings.ReplaceAll(m.To, `\`, "/"), "/")
			switch {
			case to == "" || to == ".":
				f = rest
			case rest == "":
				f = to
			default:
				f = to + "/" + rest
			}
			break
		}
	}
	if root := strings.ReplaceAll(p.SourceRoot, `\`, "/"); root != "" {
		if rest, ok := cutDir(f, root); ok && rest != "" {
			f = rest
		}
	}
	return f
}

// cutDir is file without the directory prefix dir and the "/" after it
// (ok when file is dir itself or below it).
func cutDir(file, dir string) (rest string, ok bool) {
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" { // FROM "/": every absolute path
		if strings.HasPrefix(file, "/") {
			return file[1:], true
		}
		return "", false
	}
	if file == dir {
		return "", true
	}
	if rest, ok := strings.CutPrefix(file, dir+"/"); ok {
		return rest, true
	}
	return "", false
}
