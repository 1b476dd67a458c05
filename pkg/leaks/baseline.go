package leaks

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// IsReport reports whether r holds a leak report written by `rescoord
// leaks -o json` rather than a snapshot — what --baseline takes either way
// — by the first of the top-level keys "findings" (a report) and "format"
// (a snapshot). It reads no further than that key: a snapshot, which
// starts with "format", is not read twice.
func IsReport(r io.Reader) bool {
	d := json.NewDecoder(r)
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	for d.More() {
		k, err := d.Token()
		if err != nil {
			return false
		}
		switch k {
		case "findings":
			return true
		case "format":
			return false
		}
		if !skipValue(d) {
			return false
		}
	}
	return false
}

// skipValue reads past the next value of d without keeping it.
func skipValue(d *json.Decoder) bool {
	depth := 0
	for {
		t, err := d.Token()
		if err != nil {
			return false
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return true
		}
	}
}

// ReportSignatures reads the signatures of the findings of a leak report
// written by `rescoord leaks -o json` (docs/leaks.md, "JSON"): a lighter
// baseline than the snapshot the report was made of, for "new findings
// only" in CI. A finding without a signature is an error naming its place.
func ReportSignatures(data []byte) ([]string, error) {
	var rep struct {
		Findings []struct {
			Signature *string `json:"signature"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("not a leak report (rescoord leaks -o json): %w", err)
	}
	if rep.Findings == nil {
		return nil, errors.New(`not a leak report (rescoord leaks -o json): no "findings"`)
	}
	out := make([]string, 0, len(rep.Findings))
	for i, f := range rep.Findings {
		if f.Signature == nil || *f.Signature == "" {
			return nil, fmt.Errorf("findings[%d]: no signature", i)
		}
		if !isSignature(*f.Signature) {
			return nil, fmt.Errorf("findings[%d].signature %q: want 16 hex digits", i, *f.Signature)
		}
		out = append(out, *f.Signature)
	}
	return out, nil
}

// isSignature reports whether s is a signature as Signature writes one:
// 16 lowercase hex digits.
func isSignature(s string) bool {
	if len(s) != 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
