package cmd

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/rescoord/rescoord/internal/render"
)

// baselineReport reads --baseline PATH as a report of rescoord leaks -o
// json when it is one (docs/leaks.md#baselines): the signatures of its
// findings, and true. A file whose first member is not "findings" or
// "summary" — a snapshot, gzip — is not a report: nil, false, nil, for
// the snapshot loader to read. At most limit bytes are read.
func baselineReport(path string, limit int64) (map[string]bool, bool, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, false, inputError(err)
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return nil, false, inputError(err)
	}
	if !fi.Mode().IsRegular() {
		return nil, false, nil // a stream cannot be read twice: a snapshot
	}
	br := bufio.NewReader(file)
	if !looksLikeReport(br) {
		return nil, false, nil
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return nil, false, inputError(err)
	}
	var rep struct {
		Findings []struct {
			Signature string `json:"signature"`
		} `json:"findings"`
	}
	lr := &io.LimitedReader{R: file, N: limit + 1}
	err = json.NewDecoder(lr).Decode(&rep)
	if lr.N <= 0 {
		return nil, false, &exitError{code: ExitError, err: fmt.Errorf("baseline report %s: larger than the limit of %s: raise --max-input to read it", render.Escape(path), render.Bytes(limit))}
	}
	if err != nil {
		return nil, false, &exitError{code: ExitError, err: fmt.Errorf("invalid baseline report %s: %w", render.Escape(path), err)}
	}
	sigs := make(map[string]bool, len(rep.Findings))
	for i, f := range rep.Findings {
		if !isSignature(f.Signature) {
			return nil, false, &exitError{code: ExitError, err: fmt.Errorf("invalid baseline report %s: findings[%d].signature %q: want 16 hex digits", render.Escape(path), i, render.Escape(f.Signature))}
		}
		sigs[f.Signature] = true
	}
	return sigs, true, nil
}

// looksLikeReport reports whether r starts a JSON object whose first
// member is "findings" or "summary", as rescoord leaks -o json writes it
// (a snapshot starts with "format" or another of its own members).
func looksLikeReport(r io.Reader) bool {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return false
	}
	tok, err = dec.Token()
	if err != nil {
		return false
	}
	key, _ := tok.(string)
	return key == "findings" || key == "summary"
}

// isSignature reports whether s is a finding signature: 16 lowercase hex digits.
func isSignature(s string) bool {
	if len(s) != 16 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
