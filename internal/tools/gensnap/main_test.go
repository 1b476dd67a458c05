package main

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rescoord/rescoord/internal/testfs"
)

func TestRun_WritesPlainAndGzip(t *testing.T) {
	dir := t.TempDir()
	plain, gz := filepath.Join(dir, "s.json"), filepath.Join(dir, "s.json.gz")
	for _, out := range []string{plain, gz} {
		if err := run([]string{"-resources", "500", "-seed", "4", "-o", out}, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	want := []byte(testfs.Read(t, plain))
	if got := testfs.Gunzip(t, strings.NewReader(testfs.Read(t, gz))); !bytes.Equal(got, want) || len(want) == 0 {
		t.Fatal("the gzip output differs from the plain one")
	}
	var stdout bytes.Buffer
	if err := run([]string{"-resources", "500", "-seed", "4"}, &stdout); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stdout.Bytes(), want) {
		t.Fatal("standard output differs from the file")
	}
}

func TestRun_RejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-resources", "-1"}, {"extra"}, {"-nope"}, {"-shape", "round"}} {
		if err := run(args, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}
