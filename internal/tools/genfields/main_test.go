package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rescoord/rescoord/internal/testfs"
)

const snapshotDir = "../../../pkg/snapshot"

// TestGenerated_IsCurrent regenerates pkg/snapshot's readings with the
// flags of its go:generate line and compares them with the file.
func TestGenerated_IsCurrent(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(snapshotDir, "types.go"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^//go:generate go run \S+/genfields -in (\S+) -out (\S+) -fast (\S+) -strict (\S+) -decode (\S+)$`).FindSubmatch(src)
	if m == nil {
		t.Fatal("types.go has no go:generate line for genfields")
	}
	want, err := generate(string(m[1]), src, lists{split(string(m[3])), split(string(m[4])), split(string(m[5]))})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(snapshotDir, string(m[2])))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("pkg/snapshot/%s is not what types.go's tags give: run go generate ./pkg/snapshot", m[2])
	}
}

func TestGenerate_ReadsTheTable(t *testing.T) {
	src := []byte("package p\n\ntype Thing struct {\n" +
		"\tID string `json:\"id\" snapshot:\"ident,required,offset\"`\n" +
		"\tNote string `json:\"note,omitempty\" snapshot:\"text,offset\"`\n" +
		"\tSkipped int\n" +
		"\tExtra map[string]any `json:\"-\" snapshot:\"extra\"`\n}\n")
	out, err := generate("thing.go", src, lists{fast: []string{"Thing"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"func (d *decoder) thing(v *Thing, offs *[2]int) bool {",
		"seen[0] = d.next() != 'n'",
		"d.required(start, []string{\"id\"}, seen[:])",
		"offs[1] = at",
		"d.keepExtra(&v.Extra, key)",
		"func (f *fast) thing(v *Thing) (offs [2]int, ok bool) {",
		"return 1 << 0, f.at() != 'n' && f.readIdent(&v.ID)",
		"return 1 << 1, f.readText(&v.Note)",
		"return 0, f.extra(k)", "ok = f.endExtra(&v.Extra, ok)",
		"const required = 1 << 0",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("generated code lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "Skipped") {
		t.Errorf("a field without a snapshot tag was read:\n%s", out)
	}
}

func TestGenerate_DecodeOnlyAndNoExtra(t *testing.T) {
	src := []byte("package p\n\ntype Src struct {\n\tHost string `json:\"host\" snapshot:\"text\"`\n}\n")
	out, err := generate("src.go", src, lists{decode: []string{"Src"}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "*fast") || strings.Contains(string(out), "keepExtra") || strings.Contains(string(out), "appendJSON") {
		t.Errorf("a decode-only object without extra got more than its strict reading:\n%s", out)
	}
	out, err = generate("src.go", src, lists{fast: []string{"Src"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "return 0, f.skip()") {
		t.Errorf("an object without extra must check and drop unknown fields:\n%s", out)
	}
}

func TestGenerate_RefusesABadTable(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "bad-tables.txt"))
	if err != nil {
		t.Fatal(err)
	}
	cases := regexp.MustCompile(`(?m)^// want: (.+)\ntype (\w+) struct`).FindAllSubmatch(src, -1)
	if len(cases) < 9 {
		t.Fatalf("testdata/bad-tables.txt holds %d cases", len(cases))
	}
	for _, c := range cases {
		want, name := string(c[1]), string(c[2])
		_, err := generate("bad-tables.txt", src, lists{fast: []string{name}})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one saying %q", name, err, want)
		}
	}
	if _, err := generate("bad-tables.txt", src, lists{strict: []string{"Missing"}}); err == nil {
		t.Error("a type that is not declared: accepted")
	}
}

func TestWriteFile_ReplacesAndLeavesNoTemporary(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.go")
	testfs.WriteFile(t, path, []byte("old"), 0o600)
	if err := writeFile(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Fatalf("content %q", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d entries left in the folder, want 1", len(ents))
	}
}
