package snapshot

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaCannotSay maps the snapshots the decoder rejects and the schema
// accepts to the fault, as docs/snapshot.schema.json's description names
// it among what a JSON Schema cannot express.
var schemaCannotSay = map[string]string{
	"duplicate-ids.json":  "unique ids",
	"parent-cycle.json":   "no component parent cycle",
	"duplicate-keys.json": "no duplicate keys",
}

// agreementInputs are every snapshot of the repository's testdata, valid
// and broken (not the golden reports or the schemas), and the inputs of
// this package's fuzz corpus, by name.
func agreementInputs(t *testing.T) map[string][]byte {
	t.Helper()
	inputs := map[string][]byte{}
	err := filepath.WalkDir(testdata, func(p string, d os.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && (d.Name() == "golden" || d.Name() == "schemas"):
			return filepath.SkipDir
		case d.IsDir() || !strings.HasSuffix(p, ".json"):
			return nil
		}
		data, err := os.ReadFile(p)
		inputs[p] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	corpus, err := filepath.Glob(filepath.Join("testdata", "fuzz", "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range corpus {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// "go test fuzz v1" then one []byte("…") value.
		head, value, ok := strings.Cut(string(data), "\n")
		value = strings.TrimSpace(value)
		if !ok || head != "go test fuzz v1" || !strings.HasPrefix(value, "[]byte(") || !strings.HasSuffix(value, ")") {
			t.Fatalf("%s: not a corpus file of one []byte", p)
		}
		s, err := strconv.Unquote(value[len("[]byte(") : len(value)-1])
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		inputs[p] = []byte(s)
	}
	return inputs
}

// TestSchemaAndDecoderAgree runs every snapshot of testdata/ and the fuzz
// corpus through docs/snapshot.schema.json and through the decoder: they
// accept and reject the same inputs, but for the faults the schema's
// description lists as beyond a JSON Schema.
func TestSchemaAndDecoderAgree(t *testing.T) {
	sch := compileSchema(t)
	var desc struct {
		Description string `json:"description"`
	}
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "snapshot.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &desc); err != nil {
		t.Fatal(err)
	}
	inputs := agreementInputs(t)
	if len(inputs) < 40 {
		t.Fatalf("only %d inputs", len(inputs))
	}
	seen := map[string]bool{}
	accepted, rejected := 0, 0
	for p, data := range inputs {
		var schemaErr error
		if doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data)); err != nil {
			schemaErr = err
		} else {
			schemaErr = sch.Validate(doc)
		}
		_, decodeErr := Decode(bytes.NewReader(data), filepath.Base(p))
		switch {
		case schemaErr == nil && decodeErr == nil:
			accepted++
		case schemaErr != nil && decodeErr != nil:
			rejected++
		case schemaErr != nil:
			t.Errorf("%s: the decoder accepts what the schema rejects: %v", p, schemaErr)
		default:
			fault, known := schemaCannotSay[filepath.Base(p)]
			if !known || !strings.HasPrefix(p, filepath.Join(testdata, "broken")) {
				t.Errorf("%s: the schema accepts what the decoder rejects, and its description does not say why: %v", p, decodeErr)
				continue
			}
			if !strings.Contains(desc.Description, fault) {
				t.Errorf("%s: the schema's description does not list %q among what it cannot say", p, fault)
			}
			seen[filepath.Base(p)] = true
		}
	}
	for name := range schemaCannotSay {
		if !seen[name] {
			t.Errorf("%s: listed as beyond the schema, but schema and decoder agree on it (or it is gone)", name)
		}
	}
	if accepted == 0 || rejected == 0 {
		t.Errorf("%d accepted and %d rejected by both: want some of each", accepted, rejected)
	}
}
