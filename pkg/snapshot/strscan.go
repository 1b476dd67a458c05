package snapshot

import (
	"encoding/binary"
	"math/bits"
)

// Finding the end of a string is most of the work of reading JSON. These
// helpers look at 8 bytes at a time (SWAR: "SIMD within a register"): a
// byte equal to q makes the high bit of (w^q·lsb) - lsb set where w^q·lsb
// has it clear. The lowest flagged byte is always a true match, which is
// the only one used.

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// hasByte flags the bytes of w equal to c.
func hasByte(w uint64, c byte) uint64 {
	x := w ^ (lsb * uint64(c))
	return (x - lsb) &^ x & msb
}

// nextQuoteOrBackslash returns the offset of the first '"' or '\\' at or
// after i, or len(data).
func nextQuoteOrBackslash(data []byte, i int) int {
	for ; i+8 <= len(data); i += 8 {
		w := binary.LittleEndian.Uint64(data[i:])
		if m := hasByte(w, '"') | hasByte(w, '\\'); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(data); i++ {
		if c := data[i]; c == '"' || c == '\\' {
			return i
		}
	}
	return len(data)
}

// nextStringSpecial returns the offset of the first byte at or after i
// that a string cannot hold as it is — '"', '\\' or a control character —
// or len(data).
func nextStringSpecial(data []byte, i int) int {
	for ; i+8 <= len(data); i += 8 {
		w := binary.LittleEndian.Uint64(data[i:])
		// Bytes below 0x20: w - 0x20·lsb borrows in them (for bytes below
		// 0x80, which &^ w keeps).
		ctl := (w - lsb*0x20) &^ w & msb
		if m := hasByte(w, '"') | hasByte(w, '\\') | ctl; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(data); i++ {
		if c := data[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return len(data)
}
