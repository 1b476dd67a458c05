package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestRun_WritesPlainAndGzip(t *testing.T) {
	dir := t.TempDir()
	plain, gz := filepath.Join(dir, "s.json"), filepath.Join(dir, "s.json.gz")
	for _, out := range []string{plain, gz} {
		if err := run([]string{"-resources", "500", "-seed", "4", "-o", out}, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(gz)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) || len(want) == 0 {
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
