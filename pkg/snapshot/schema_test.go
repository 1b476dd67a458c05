package snapshot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	sch, err := c.Compile(filepath.Join("..", "..", "docs", "snapshot.schema.json"))
	if err != nil {
		t.Fatalf("compiling docs/snapshot.schema.json: %v", err)
	}
	return sch
}

func validateFile(t *testing.T, sch *jsonschema.Schema, path string) error {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return err
	}
	return sch.Validate(doc)
}

// TestSchema_ValidSnapshots checks every valid testdata snapshot against
// the published JSON Schema, so the schema and the decoder agree.
func TestSchema_ValidSnapshots(t *testing.T) {
	sch := compileSchema(t)
	for _, p := range validSnapshots(t) {
		if err := validateFile(t, sch, p); err != nil {
			t.Errorf("%s does not match docs/snapshot.schema.json: %v", p, err)
		}
	}
}

// TestSchema_RejectsBrokenShapes checks that the schema rejects the broken
// snapshots whose faults a schema can express.
func TestSchema_RejectsBrokenShapes(t *testing.T) {
	sch := compileSchema(t)
	for _, name := range []string{"bad-enum", "bad-timestamp", "missing-required", "missing-top-level", "negative-size", "unknown-format", "wrong-types", "not-an-object"} {
		p := filepath.Join(testdata, "broken", name+".json")
		err := validateFile(t, sch, p)
		if err == nil || strings.TrimSpace(err.Error()) == "" {
			t.Errorf("%s: schema accepted a snapshot the decoder rejects", name)
		}
	}
}
