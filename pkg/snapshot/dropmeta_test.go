package snapshot

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rescoord/rescoord/internal/gensnap"
)

// withoutMetadata is s with every resource's metadata removed.
func withoutMetadata(s *Snapshot) *Snapshot {
	c := *s
	c.Resources = append([]Resource(nil), s.Resources...)
	for i := range c.Resources {
		c.Resources[i].Metadata = Metadata{}
	}
	return &c
}

// dropReaders are the ways a snapshot is read, each with DropMetadata on
// or off: the strict decoder, the fast path over bytes in memory, and Load
// of a file by windows (copy mode).
var dropReaders = []struct {
	name string
	read func(t *testing.T, dir string, data []byte, drop bool) (*Snapshot, error)
}{
	{"strict", func(t *testing.T, dir string, data []byte, drop bool) (*Snapshot, error) {
		tu := small()
		tu.dropMetadata = drop
		return parse(context.Background(), data, "in", true, tu)
	}},
	{"fast", func(t *testing.T, dir string, data []byte, drop bool) (*Snapshot, error) {
		tu := small()
		return DecodeContext(context.Background(), bytes.NewReader(data), "in", Options{DropMetadata: drop, tune: &tu})
	}},
	{"windows", func(t *testing.T, dir string, data []byte, drop bool) (*Snapshot, error) {
		// dir is the test's: the errors name the file.
		p := filepath.Join(dir, "in.json")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		tu := small()
		return LoadContext(context.Background(), p, Options{DropMetadata: drop, tune: &tu})
	}},
}

func TestOptions_DropMetadataKeepsEverythingElse(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := gensnap.Generate(gensnap.Config{Components: 300, Resources: 6_000, Cleanups: 200, Seed: 11}, &buf); err != nil {
		t.Fatal(err)
	}
	for _, r := range dropReaders {
		t.Run(r.name, func(t *testing.T) {
			dir := t.TempDir()
			kept, err := r.read(t, dir, buf.Bytes(), false)
			if err != nil {
				t.Fatal(err)
			}
			withMeta := 0
			for i := range kept.Resources {
				if !kept.Resources[i].Metadata.IsZero() {
					withMeta++
				}
			}
			if withMeta == 0 {
				t.Fatal("the generated snapshot has no metadata: the test proves nothing")
			}
			dropped, err := r.read(t, dir, buf.Bytes(), true)
			if err != nil {
				t.Fatal(err)
			}
			for i := range dropped.Resources {
				if m := dropped.Resources[i].Metadata; !m.IsZero() {
					t.Fatalf("resource %d kept metadata %s", i, m.Raw())
				}
			}
			if !sameSnapshot(withoutMetadata(kept), dropped) {
				t.Error("with DropMetadata the snapshot differs in more than metadata")
			}
		})
	}
}

// Metadata that is not kept is still checked: a broken value is refused
// with the same errors.
func TestOptions_DropMetadataStillChecksIt(t *testing.T) {
	t.Parallel()
	for i, meta := range []string{`{"a":[1,2,}`, `01`, `{"a":"b\qc"}`, `[1,2]]`} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			var b strings.Builder
			b.WriteString(`{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:05Z","components":[{"id":"c","state":"alive"}],"resources":[`)
			n := small().minParallel + 5
			elements(&b, n, func(k int) {
				m := `{"k":1}`
				if k == n/2 {
					m = meta
				}
				fmt.Fprintf(&b, `{"id":"r-%d","type":"file","owner":"c","state":"active","metadata":%s}`, k, m)
			})
			b.WriteString(`]}`)
			data := []byte(b.String())
			dir := t.TempDir()
			for _, r := range dropReaders {
				_, kerr := r.read(t, dir, data, false)
				_, derr := r.read(t, dir, data, true)
				if kerr == nil {
					t.Fatalf("%s: the broken metadata %s was accepted", r.name, meta)
				}
				if errText(kerr) != errText(derr) {
					t.Errorf("%s: errors differ\nkept:    %s\ndropped: %s", r.name, errText(kerr), errText(derr))
				}
			}
		})
	}
}
