package snapshot

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/testfs"

	"github.com/rescoord/rescoord/internal/gensnap"
)

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestDecode_GzipBombFailsWithinTheLimit: a 5 MB gzip stream expanding to
// 5 GiB is refused once it passes the limit, having held none of it.
func TestDecode_GzipBombFailsWithinTheLimit(t *testing.T) {
	bomb := testfs.GzipBomb(5 << 30)
	if len(bomb) > 8<<20 {
		t.Fatalf("bomb of %d bytes", len(bomb))
	}
	path := filepath.Join(t.TempDir(), "bomb.json.gz")
	testfs.WriteFile(t, path, bomb, 0o600)
	const limit = 64 << 20
	var err error
	alloc := allocated(func() { _, err = LoadContext(context.Background(), path, Options{MaxBytes: limit}) })
	var large *TooLargeError
	if !errors.As(err, &large) || !large.Decompressed || large.Limit != limit || large.Name != path {
		t.Fatalf("err = %v, want a *TooLargeError of the decompressed input", err)
	}
	if want := "bomb.json.gz: decompressed input larger than the limit of 64.0 MiB (67108864 bytes)"; !strings.HasSuffix(err.Error(), want) {
		t.Errorf("error %q, want it to end with %q", err, want)
	}
	// The compressed bytes and a buffer: nothing like the limit.
	if alloc > uint64(len(bomb))+16<<20 {
		t.Errorf("allocated %d MiB refusing the bomb", alloc>>20)
	}
	// The same from a stream (standard input).
	_, err = DecodeContext(context.Background(), bytes.NewReader(bomb), "-", Options{MaxBytes: limit})
	if !errors.As(err, &large) {
		t.Fatalf("from a stream: err = %v", err)
	}
}

// TestDecode_GzipWithinTheLimit: gzip input that fits is decoded.
func TestDecode_GzipWithinTheLimit(t *testing.T) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(minimal))
	zw.Close()
	if _, err := DecodeContext(context.Background(), bytes.NewReader(b.Bytes()), "-", Options{MaxBytes: int64(len(minimal))}); err != nil {
		t.Fatal(err)
	}
	_, err := DecodeContext(context.Background(), bytes.NewReader(b.Bytes()), "-", Options{MaxBytes: int64(len(minimal)) - 1})
	var large *TooLargeError
	if !errors.As(err, &large) {
		t.Fatalf("one byte over: err = %v", err)
	}
}

const minimal = `{"format":"rescoord/v1","taken_at":"2026-11-27T12:00:05Z","components":[],"resources":[]}`

// endless reads as many bytes c as asked, for ever, and counts them.
type endless struct {
	c    byte
	read int64
}

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = e.c
	}
	e.read += int64(len(p))
	return len(p), nil
}

// TestDecode_FailsAtTheFirstByte: an input whose first byte (white space
// aside) cannot start a snapshot is refused there, not read whole.
func TestDecode_FailsAtTheFirstByte(t *testing.T) {
	zeros := &endless{}
	_, err := Decode(zeros, "zeros")
	if got, want := errText(err), "zeros:1:1: expected a snapshot object, got byte 0x00\n(+0)"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
	if zeros.read > 1<<20 {
		t.Errorf("read %d bytes of an endless input", zeros.read)
	}
	_, err = Decode(strings.NewReader("\n  \n\t[1]"), "x")
	if got, want := errText(err), "x:3:2: expected a snapshot object, got an array\n(+0)"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		_, err = Load("/dev/zero")
		if got, want := errText(err), "/dev/zero:1:1: expected a snapshot object, got byte 0x00\n(+0)"; got != want {
			t.Errorf("error %q, want %q", got, want)
		}
	}
	// Inside gzip too.
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(make([]byte, 10<<20))
	zw.Close()
	_, err = Decode(&b, "z.gz")
	if got, want := errText(err), "z.gz:1:1: expected a snapshot object, got byte 0x00\n(+0)"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
}

// TestLoad_OverTheLimit: a file, a stream of white space and standard
// input larger than the limit are refused; a file by its size, unread.
func TestLoad_OverTheLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "snap.json")
	testfs.WriteFile(t, path, []byte(minimal), 0o600)
	small := Options{MaxBytes: int64(len(minimal)) - 1}
	var large *TooLargeError
	if _, err := LoadContext(context.Background(), path, small); !errors.As(err, &large) || large.Name != path || large.Decompressed {
		t.Errorf("file: err = %v", err)
	}
	if _, err := LoadContext(context.Background(), path, Options{MaxBytes: int64(len(minimal))}); err != nil {
		t.Errorf("file at the limit: %v", err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := DecodeContext(context.Background(), f, "-", small); !errors.As(err, &large) || large.Name != "-" {
		t.Errorf("standard input from a file: err = %v", err)
	}
	// A stream (a pipe) is read up to the limit and no further.
	pipe := io.MultiReader(strings.NewReader("{"), &endless{c: ' '})
	_, err = DecodeContext(context.Background(), pipe, "-", Options{MaxBytes: 1 << 20})
	if !errors.As(err, &large) {
		t.Errorf("endless stream: err = %v", err)
	}
	if _, err := DecodeContext(context.Background(), strings.NewReader(minimal), "-", small); !errors.As(err, &large) {
		t.Errorf("stream one byte over: err = %v", err)
	}
	if _, err := DecodeContext(context.Background(), strings.NewReader(minimal), "-", Options{MaxBytes: int64(len(minimal))}); err != nil {
		t.Errorf("stream at the limit: %v", err)
	}
}

// loadAsync runs LoadContext on path and returns its result on a channel.
func loadAsync(ctx context.Context, path string) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := LoadContext(ctx, path, Options{})
		done <- err
	}()
	return done
}

// waitErr waits for an error from done, failing the test if none comes
// within a long while (the code under test has none of that: it is a
// bound on a hang).
func waitErr(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("LoadContext did not return after the context ended")
		return nil
	}
}

// wantCanceledAtOnce runs read with a context that it then ends, and
// wants read to return context.Canceled (within waitErr's bound).
func wantCanceledAtOnce(t *testing.T, read func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- read(ctx) }()
	cancel()
	if err := waitErr(t, done); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// loading is a read of wantCanceledAtOnce: LoadContext of path.
func loading(path string) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := LoadContext(ctx, path, Options{})
		return err
	}
}

// TestParse_EndsWithTheContext: both decoders and the large-file loader
// stop when the context has ended, with its error.
func TestParse_EndsWithTheContext(t *testing.T) {
	var buf bytes.Buffer
	if err := gensnap.Generate(gensnap.Config{Components: 100, Resources: 20_000, Seed: 3}, &buf); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, strict := range []bool{false, true} {
		if _, err := parse(ctx, append([]byte(nil), buf.Bytes()...), "in", strict, small()); !errors.Is(err, context.Canceled) {
			t.Errorf("strict %v: err = %v, want context.Canceled", strict, err)
		}
	}
	f := openTemp(t, buf.Bytes())
	path := f.Name()
	if _, ok := loadLarge(ctx, f, int64(buf.Len()), path, small()); ok {
		t.Error("loadLarge went on after the context ended")
	}
	if _, err := LoadContext(ctx, path, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("LoadContext: err = %v, want context.Canceled", err)
	}
	// A context that ends while the fast path decodes a window.
	var decoded atomic.Int32
	ctx, cancel = context.WithCancel(context.Background())
	sh, ok := scanArray(buf.Bytes(), bytes.Index(buf.Bytes(), []byte(`"resources":[`))+len(`"resources":`))
	if !ok {
		t.Fatal("no resources array")
	}
	out := make([]Resource, sh.n)
	if fastArray(ctx, small(), buf.Bytes(), sh, 2, out, func(f *fast, r *Resource, _ int) bool {
		if decoded.Add(1) == 100 {
			cancel()
		}
		_, ok := f.resource(r)
		return ok
	}) {
		t.Error("the fast path went on after the context ended")
	}
	if n := decoded.Load(); n > 3*checkEvery {
		t.Errorf("decoded %d resources after the context ended", n-100)
	}
}

// TestDecode_StreamsInBlocks: a stream of many blocks decodes as Parse
// does, at the limit and one byte under it.
func TestDecode_StreamsInBlocks(t *testing.T) {
	var buf bytes.Buffer
	if err := gensnap.Generate(gensnap.Config{Components: 50, Resources: 5_000, Seed: 4}, &buf); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	if len(data) < 1<<20 {
		t.Fatalf("only %d bytes", len(data))
	}
	want, err := Parse(append([]byte(nil), data...), "-")
	if err != nil {
		t.Fatal(err)
	}
	// Reads of odd sizes, so that blocks fill over several reads.
	got, err := DecodeContext(context.Background(), &oddReader{data: data}, "-", Options{MaxBytes: int64(len(data))})
	if err != nil {
		t.Fatal(err)
	}
	if !sameSnapshot(want, got) {
		t.Error("a stream read in blocks decodes otherwise than Parse")
	}
	var large *TooLargeError
	if _, err := DecodeContext(context.Background(), &oddReader{data: data}, "-", Options{MaxBytes: int64(len(data)) - 1}); !errors.As(err, &large) {
		t.Errorf("one byte over: err = %v", err)
	}
}

// oddReader returns data in reads of 1 to 4096 bytes.
type oddReader struct {
	data []byte
	k    int
}

func (o *oddReader) Read(p []byte) (int, error) {
	if len(o.data) == 0 {
		return 0, io.EOF
	}
	o.k++
	n := copy(p[:min(len(p), 1+o.k*7919%4096)], o.data)
	o.data = o.data[n:]
	return n, nil
}

// TestDecode_ReadErrorsAreKept: a stream cut short (a connection closed
// mid-body) fails with its read error, not as truncated JSON.
func TestDecode_ReadErrorsAreKept(t *testing.T) {
	cut := io.MultiReader(strings.NewReader(minimal[:40]), iotestErr{io.ErrUnexpectedEOF})
	if _, err := DecodeContext(context.Background(), cut, "", Options{}); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v, want io.ErrUnexpectedEOF", err)
	}
}

type iotestErr struct{ err error }

func (e iotestErr) Read([]byte) (int, error) { return 0, e.err }
