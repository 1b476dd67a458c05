package jsonw

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

var samples = []string{"", "plain", `q"b\s`, "tab\tnl\ncr\r", "\b\f\x01\x1f\x7f", "<a&b>", "é😀", "bad\xffutf8\xc0", "ls\u2028ps\u2029", "a long plain string with no escapes at all, longer than eight bytes"}

func TestAppendString_MatchesEncodingJSON(t *testing.T) {
	for _, s := range samples {
		checkQuoted(t, s)
	}
}

// checkQuoted fails unless AppendString quotes s as json.Marshal does, and
// AppendStringNoHTML as a json.Encoder with SetEscapeHTML(false).
func checkQuoted(t *testing.T, s string) {
	t.Helper()
	want, _ := json.Marshal(s)
	if got := AppendString(nil, s); !bytes.Equal(got, want) {
		t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	want = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if got := AppendStringNoHTML(nil, s); !bytes.Equal(got, want) {
		t.Fatalf("AppendStringNoHTML(%q) = %s, want %s", s, got, want)
	}
}

// Every byte, and runes of several bytes, at every place in strings of 7
// to 24 bytes: at the start, the end and across every 8-byte boundary.
func TestAppendString_EveryByteEverywhere(t *testing.T) {
	var specials []string
	for c := range 256 {
		specials = append(specials, string([]byte{byte(c)}))
	}
	specials = append(specials, "\u2028", "\u2029", "é", "😀")
	for _, n := range []int{7, 8, 9, 16, 17, 24} {
		for _, sp := range specials {
			for at := 0; at+len(sp) <= n; at++ {
				b := bytes.Repeat([]byte("x"), n)
				copy(b[at:], sp)
				checkQuoted(t, string(b))
			}
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range samples {
		f.Add(s)
	}
	f.Fuzz(checkQuoted)
}

// BenchmarkAppendString appends what the reports are made of: ids,
// names, messages.
func BenchmarkAppendString(b *testing.B) {
	for _, s := range []string{"r-569350", "media_analysis_controller.py:107", "worker r-569350 (thumbnails) is still running, but its owner gone-10096 was destroyed"} {
		b.Run(fmt.Sprint(len(s)), func(b *testing.B) {
			buf := make([]byte, 0, 256)
			for b.Loop() {
				buf = AppendString(buf[:0], s)
			}
		})
	}
}
