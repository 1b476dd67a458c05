package hugemem

import "testing"

func TestMake(t *testing.T) {
	s := Make[int64](3 << 20)
	if len(s) != 3<<20 || cap(s) != 3<<20 {
		t.Fatalf("len %d cap %d, want %d", len(s), cap(s), 3<<20)
	}
	for i, v := range s {
		if v != 0 {
			t.Fatalf("s[%d] = %d, want 0", i, v)
		}
	}
	b := MakeCap[byte](0, 100)
	if len(b) != 0 || cap(b) != 100 {
		t.Fatalf("len %d cap %d, want 0 and 100", len(b), cap(b))
	}
}
