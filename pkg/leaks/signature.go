package leaks

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
)

// SignatureScheme names the way signatures are computed. Reports use it as
// the key of SARIF partialFingerprints, so that a future change of scheme
// is told apart from a change of finding.
const SignatureScheme = "rescoordSignature/v1"

// Signature is the stable identity of a finding across runs: resource and
// component ids change between runs, signatures do not. It is the first 16
// hex digits of the SHA-256 of these fields, each followed by a NUL byte:
//
//	rule, component name, component type, resource type, resource name, frame
//
// where the component is the resource's owner (for a resource finding) or
// the component itself (for a component finding), its name is its name or,
// when it has none, its id; a missing owner contributes empty name and type
// (only its id, which changes between runs, is known); frame is the first
// created_by frame. Fields a finding does not have are empty. A cleanup
// cycle hashes its rule and then, for each member in sorted order, its
// "type/name/frame"; a suppression finding hashes its rule and the entry's
// patterns and reason.
func Signature(rule Rule, compName, compType, resType, resName, frame string) string {
	var h sigHasher
	return h.sum(string(rule), compName, compType, resType, resName, frame)
}

// sigHasher computes many signatures with one scratch buffer. Its zero
// value is ready to use.
type sigHasher struct {
	buf []byte
}

func (s *sigHasher) sum(fields ...string) string {
	var out [16]byte
	return string(s.appendSum(out[:0], fields...))
}

// appendSum appends the signature of fields to dst: 16 hex digits.
func (s *sigHasher) appendSum(dst []byte, fields ...string) []byte {
	b := s.buf[:0]
	for _, f := range fields {
		b = append(b, f...)
		b = append(b, 0)
	}
	s.buf = b
	sum := sha256.Sum256(b)
	return hex.AppendEncode(dst, sum[:8])
}

// cycleSignature is the signature of a cleanup cycle: its rule and the
// sorted type/name/frame keys of its members, so neither ids nor the point
// where the cycle is entered change it.
func (s *sigHasher) cycleSignature(keys []string) string {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	return s.sum(append([]string{string(RuleCleanupCycle)}, keys...)...)
}

// memberKey is the part of a cycle signature one member contributes.
func memberKey(resType, name, frame string) string {
	return strings.Join([]string{resType, name, frame}, "/")
}
