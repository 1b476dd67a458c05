package jsonw

import (
	"bytes"
	"encoding/json"
	"testing"
)

var samples = []string{"", "plain", `q"b\s`, "tab\tnl\ncr\r", "\b\f\x01\x1f\x7f", "<a&b>", "é😀", "bad\xffutf8\xc0", "ls\u2028ps\u2029", "a long plain string with no escapes at all, longer than eight bytes"}

func TestAppendString_MatchesEncodingJSON(t *testing.T) {
	for _, s := range samples {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		want = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		if got := AppendStringNoHTML(nil, s); !bytes.Equal(got, want) {
			t.Errorf("AppendStringNoHTML(%q) = %s, want %s", s, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range samples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
	})
}
