// Package testfs holds the file checks and hostile files the tests of
// several packages share: what a directory holds, what a file says, its
// mode, a gzip bomb.
package testfs

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"os"
	"testing"
)

// Names lists the names in dir, in order.
func Names(tb testing.TB, dir string) []string {
	tb.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	names := make([]string, 0, len(des))
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// Read is the content of the file at path.
func Read(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// Mode is the mode of path itself (a symbolic link is not followed).
func Mode(tb testing.TB, path string) fs.FileMode {
	tb.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		tb.Fatal(err)
	}
	return fi.Mode()
}

// GzipBomb returns a gzip stream of about size/1000 bytes that expands to
// size bytes: the start of a snapshot, then spaces. It is made of one
// member compressing 1 MiB of spaces, repeated (gzip readers read
// concatenated members as one stream), so it costs nothing to make.
func GzipBomb(size int64) []byte {
	head := gzipMember([]byte(`{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:05Z","x":"`))
	spaces := gzipMember(bytes.Repeat([]byte(" "), 1<<20))
	out := bytes.NewBuffer(head)
	for n := int64(0); n < size; n += 1 << 20 {
		out.Write(spaces)
	}
	return out.Bytes()
}

// Gunzip returns what the gzip stream r expands to, failing the test if it
// is not one.
func Gunzip(tb testing.TB, r io.Reader) []byte {
	tb.Helper()
	var b []byte
	zr, err := gzip.NewReader(r)
	if err == nil {
		b, err = io.ReadAll(zr)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func gzipMember(data []byte) []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write(data)
	zw.Close()
	return b.Bytes()
}

// WriteFile is os.WriteFile that fails the test on an error.
func WriteFile(tb testing.TB, name string, data []byte, perm fs.FileMode) {
	tb.Helper()
	if err := os.WriteFile(name, data, perm); err != nil {
		tb.Fatal(err)
	}
}

// Symlink is os.Symlink that fails the test on an error.
func Symlink(tb testing.TB, target, link string) {
	tb.Helper()
	if err := os.Symlink(target, link); err != nil {
		tb.Fatal(err)
	}
}
