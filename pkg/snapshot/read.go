package snapshot

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rescoord/rescoord/internal/hugemem"
	"github.com/rescoord/rescoord/internal/human"
)

// Reading an input before it is parsed (docs/snapshot-format.md, "Limits").
//
// Parse needs the whole document in one buffer, so what bounds the memory
// of a decode is the size of its input: every input — a file, standard
// input, the decompressed bytes of gzip — is refused past Options.MaxBytes,
// before it is held whole:
//
//   - a regular file larger than the limit is refused by its size, unread;
//   - a stream is read into a buffer that never grows past the limit;
//   - gzip is decompressed twice: once counting the bytes, holding none of
//     them, then into a buffer of the exact size. A gzip bomb costs the time
//     to decompress up to the limit, not the memory.
//
// The first byte that is not white space must start an object ('{') or
// gzip: /dev/zero or a binary file fails at once instead of being read
// whole. Reading checks the context between reads; a FIFO is opened in a
// goroutine, so that a FIFO without a writer does not block past the
// context's end.

// DefaultMaxBytes is the limit on the size of an input, after
// decompression, when Options.MaxBytes is 0: 1 GiB, three times the
// 1M-resource reference snapshot (343 MB).
const DefaultMaxBytes int64 = 1 << 30

// Options control how LoadContext and DecodeContext read an input.
type Options struct {
	// MaxBytes bounds the size of the input after decompression; 0 means
	// DefaultMaxBytes.
	MaxBytes int64
	// NoCollect turns off the garbage collections that loading a large
	// file forces: one right after the result's slices are allocated (a
	// collection then starting would slow the decoding down more than
	// finishing it at once costs), and one between the two reads of a file
	// whose skimmed outline proved wrong (so that the second reuses the
	// first's memory). A program that tunes its collector itself may not
	// want them; the peak memory may then be higher.
	NoCollect bool
	// DropMetadata leaves every resource's Metadata nil. The metadata is
	// still read and checked as the format requires, so a snapshot is
	// accepted or refused exactly as without it; it is only not kept. A
	// program that never reads metadata saves the memory it takes when a
	// large file is copied out of its windows (docs/performance.md).
	DropMetadata bool

	// tune is the package's tuning; the zero value is defaultTuning (the
	// tests set others).
	tune *tuning
}

func (o Options) tuning() tuning {
	t := defaultTuning()
	if o.tune != nil {
		t = *o.tune
	}
	t.dropMetadata = o.DropMetadata
	return t
}

func (o Options) maxBytes() int64 {
	if o.MaxBytes > 0 {
		return o.MaxBytes
	}
	return DefaultMaxBytes
}

// TooLargeError is the error of an input larger than Options.MaxBytes.
type TooLargeError struct {
	// Name is the input's name, as given to Decode ("" when unknown).
	Name string
	// Limit is the limit exceeded, in bytes.
	Limit int64
	// Decompressed is set when the limit was exceeded by decompressing.
	Decompressed bool
}

func (e *TooLargeError) Error() string {
	what := "input"
	if e.Decompressed {
		what = "decompressed input"
	}
	msg := fmt.Sprintf("%s larger than the limit of %s (%d bytes)", what, human.Bytes(e.Limit), e.Limit)
	if e.Name != "" {
		msg = e.Name + ": " + msg
	}
	return msg
}

// Load reads and decodes the snapshot at path; "-" reads standard input.
// A gzip-compressed input (by content, whatever its name) is decompressed.
// A large uncompressed file is read by windows rather than held whole
// (largefile.go); the result and the errors are the same. It is
// LoadContext without a deadline and with the default limit.
func Load(path string) (*Snapshot, error) {
	return LoadContext(context.Background(), path, Options{})
}

// LoadContext is Load with a context, checked while the input is opened,
// read and parsed (its error is then returned, wrapped), and options.
func LoadContext(ctx context.Context, path string, opts Options) (*Snapshot, error) {
	s, _, err := load(ctx, path, opts)
	return s, err
}

// LoadIndex is LoadContext followed by NewIndex, which it hands the id
// tables the decoder built, instead of building them again. An index
// error is prefixed with path.
func LoadIndex(ctx context.Context, path string, opts Options) (*Index, error) {
	s, t, err := load(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	return indexNamed(s, t, path, opts.tuning())
}

// load is LoadContext with the decoder's id tables.
func load(ctx context.Context, path string, opts Options) (*Snapshot, *tables, error) {
	if path == "-" {
		return decode(ctx, os.Stdin, "-", opts)
	}
	f, err := openInput(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() >= opts.tuning().largeFile && st.Size() <= opts.maxBytes() {
		var magic [2]byte
		if _, err := f.ReadAt(magic[:], 0); err == nil && magic != [2]byte{0x1f, 0x8b} {
			if s, t, ok := loadLargeTables(ctx, f, st.Size(), path, !opts.NoCollect, opts.tuning()); ok {
				return s, t, nil
			}
			if err := ctx.Err(); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", path, err)
			}
		}
	}
	return decode(ctx, f, path, opts)
}

// indexNamed indexes s with its decoder's tables, naming the input in an
// error.
func indexNamed(s *Snapshot, t *tables, name string, tune tuning) (*Index, error) {
	ix, err := newIndex(s, t, tune)
	if err != nil && name != "" {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return ix, err
}

// openInput opens path for reading. A FIFO is opened in a goroutine:
// opening one blocks until a writer comes, and the context may end first
// (the goroutine then closes what it opens, if it ever does).
func openInput(ctx context.Context, path string) (*os.File, error) {
	if st, err := os.Stat(path); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		return os.Open(path)
	}
	type opened struct {
		f   *os.File
		err error
	}
	done := make(chan opened, 1)
	go func() {
		f, err := os.Open(path)
		done <- opened{f, err}
	}()
	select {
	case o := <-done:
		return o.f, o.err
	case <-ctx.Done():
		go func() {
			if o := <-done; o.f != nil {
				o.f.Close()
			}
		}()
		return nil, fmt.Errorf("%s: waiting for a writer: %w", path, ctx.Err())
	}
}

// Decode reads a whole snapshot from r. name labels errors (a file name,
// "-" for stdin, or ""). The result is strict: every input error found is
// returned as an *Errors, each naming its JSON path and line:column. It is
// DecodeContext without a deadline and with the default limit.
func Decode(r io.Reader, name string) (*Snapshot, error) {
	return DecodeContext(context.Background(), r, name, Options{})
}

// DecodeContext is Decode with a context, checked while r is read and
// parsed (its error is then returned, wrapped), and options. An input
// larger than the limit is a *TooLargeError.
func DecodeContext(ctx context.Context, r io.Reader, name string, opts Options) (*Snapshot, error) {
	s, _, err := decode(ctx, r, name, opts)
	return s, err
}

// DecodeIndex is DecodeContext followed by NewIndex, which it hands the
// id tables the decoder built. An index error is prefixed with name.
func DecodeIndex(ctx context.Context, r io.Reader, name string, opts Options) (*Index, error) {
	s, t, err := decode(ctx, r, name, opts)
	if err != nil {
		return nil, err
	}
	return indexNamed(s, t, name, opts.tuning())
}

// decode is DecodeContext with the decoder's id tables.
func decode(ctx context.Context, r io.Reader, name string, opts Options) (*Snapshot, *tables, error) {
	data, err := readInput(ctx, r, name, opts.maxBytes())
	if err != nil {
		var located *Errors
		var large *TooLargeError
		if name != "" && !errors.As(err, &located) && !errors.As(err, &large) {
			err = fmt.Errorf("%s: %w", name, err)
		}
		return nil, nil, err
	}
	return parseTables(ctx, data, name, false, opts.tuning())
}

// readChunk is the most one read asks for, so that the context is
// checked every so often however large the buffer.
const readChunk = 4 << 20

// ctxReader checks the context before each read.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p[:min(len(p), readChunk)])
	if err != nil && c.ctx.Err() != nil {
		err = c.ctx.Err() // the deadline set when the context ended
	}
	return n, err
}

// asyncReader reads in a goroutine, so that a read blocked for ever
// (standard input from a terminal, a pipe whose writer is silent) is left
// behind when the context ends. It reads into its own buffer, which the
// goroutine left behind keeps.
type asyncReader struct {
	ctx     context.Context
	r       io.Reader
	buf     []byte
	done    chan int
	err     error
	pending bool
}

func (a *asyncReader) Read(p []byte) (int, error) {
	if err := a.ctx.Err(); err != nil {
		return 0, err
	}
	if !a.pending {
		if a.buf == nil {
			a.buf, a.done = make([]byte, 256<<10), make(chan int, 1)
		}
		a.pending = true
		buf := a.buf[:min(len(p), len(a.buf))]
		go func() {
			n, err := a.r.Read(buf)
			a.err = err
			a.done <- n
		}()
	}
	select {
	case n := <-a.done:
		a.pending = false
		return copy(p, a.buf[:n]), a.err
	case <-a.ctx.Done():
		return 0, a.ctx.Err()
	}
}

// readInput reads r whole, decompressing gzip, within max bytes.
func readInput(ctx context.Context, r io.Reader, name string, limit int64) ([]byte, error) {
	size := int64(-1)
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			if pos, err := f.Seek(0, io.SeekCurrent); err == nil {
				size = max(st.Size()-pos, 0)
			}
		}
		switch err := f.SetReadDeadline(time.Time{}); {
		case err == nil:
			// A read from a pipe or a FIFO that Go polls ends when the
			// context does.
			stop := context.AfterFunc(ctx, func() { _ = f.SetReadDeadline(time.Unix(1, 0)) })
			defer stop()
		case size < 0:
			// Standard input that is a blocking pipe or a terminal: a
			// read cannot be ended, so it is left behind.
			r = &asyncReader{ctx: ctx, r: f}
		}
	}
	br := bufio.NewReaderSize(ctxReader{ctx, r}, 64<<10)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		// Compressed data is at most a little larger than what it holds.
		comp, err := readPlain(br, size, limit+limit/64+4096, nil)
		if err != nil {
			if errors.Is(err, errTooLarge) {
				return nil, &TooLargeError{Name: name, Limit: limit}
			}
			return nil, err
		}
		return gunzip(ctx, comp, name, limit)
	}
	if size > limit {
		return nil, &TooLargeError{Name: name, Limit: limit}
	}
	st := &starter{name: name, line: 1}
	data, err := readPlain(br, size, limit, st)
	if errors.Is(err, errTooLarge) {
		return nil, &TooLargeError{Name: name, Limit: limit}
	}
	return data, err
}

var errTooLarge = errors.New("input too large")

// readPlain reads r whole: size bytes when known (>= 0), else block by
// block up to limit+1 bytes. st, when set, checks the first byte.
func readPlain(r io.Reader, size, limit int64, st *starter) ([]byte, error) {
	if size < 0 {
		return readBlocks(r, limit, st)
	}
	// One byte more than the file, so the read that finds the end needs
	// no room: growing a 300 MB buffer would copy it and hold both copies.
	buf := hugemem.MakeCap[byte](0, int(min(size+1, limit+1)))
	for {
		if len(buf) == cap(buf) { // the file grew
			if int64(len(buf)) > limit {
				return nil, errTooLarge
			}
			grown := hugemem.MakeCap[byte](len(buf), int(min(2*int64(cap(buf)), limit+1)))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		if st != nil && !st.done {
			if err := st.feed(buf[len(buf) : len(buf)+n]); err != nil {
				return nil, err
			}
		}
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, errTooLarge
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// readBlocks reads a stream of unknown size into blocks of growing size
// (64 KiB to 16 MiB), then copies them into one buffer of the exact size,
// giving each block back once copied: the peak is the input and a block,
// where a doubling buffer holds the last two sizes and the garbage of the
// earlier ones (a 343 MB pipe: 875 MB).
func readBlocks(r io.Reader, limit int64, st *starter) ([]byte, error) {
	var blocks [][]byte
	defer func() {
		for _, b := range blocks {
			freeBlock(b)
		}
	}()
	var total int64
	for next := 64 << 10; ; next = min(2*next, 16<<20) {
		block := tempBlock(int(min(int64(next), limit+1-total)))
		blocks = append(blocks, block)
		n, err := fill(r, block)
		if st != nil && !st.done {
			if err := st.feed(block[:n]); err != nil {
				return nil, err
			}
		}
		blocks[len(blocks)-1] = block[:n]
		if total += int64(n); total > limit {
			return nil, errTooLarge
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	buf := hugemem.MakeCap[byte](0, int(total))
	for k, b := range blocks {
		buf = append(buf, b...)
		freeBlock(b)
		blocks[k] = nil
	}
	blocks = nil
	return buf, nil
}

// fill reads into b until it is full (nil), or r ends (io.EOF) or fails.
func fill(r io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := r.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// gunzip decompresses comp: first counting the bytes (within limit, and
// checking the first), then into a buffer of that size.
func gunzip(ctx context.Context, comp []byte, name string, limit int64) ([]byte, error) {
	open := func() (io.Reader, error) {
		zr, err := gzip.NewReader(bytes.NewReader(comp))
		if err != nil {
			return nil, fmt.Errorf("reading gzip: %w", err)
		}
		return ctxReader{ctx, zr}, nil
	}
	zr, err := open()
	if err != nil {
		return nil, err
	}
	st := &starter{name: name, line: 1}
	chunk := make([]byte, 256<<10)
	var n int64
	for {
		k, err := zr.Read(chunk)
		if !st.done {
			if err := st.feed(chunk[:k]); err != nil {
				return nil, err
			}
		}
		if n += int64(k); n > limit {
			return nil, &TooLargeError{Name: name, Limit: limit, Decompressed: true}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, gzipError(err)
		}
	}
	if zr, err = open(); err != nil {
		return nil, err
	}
	out := hugemem.Make[byte](int(n))
	if _, err := io.ReadFull(zr, out); err != nil {
		return nil, gzipError(err)
	}
	return out, nil
}

func gzipError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("reading gzip: %w", err)
}

// starter checks the first byte of an input that is not white space: it
// must start the snapshot object.
type starter struct {
	name      string
	line, col int // of the next byte; col counts the bytes before it
	done      bool
}

// feed looks at the next bytes of the input.
func (s *starter) feed(p []byte) error {
	for _, c := range p {
		switch c {
		case ' ', '\t', '\r':
			s.col++
		case '\n':
			s.line, s.col = s.line+1, 0
		default:
			s.done = true
			if c == '{' {
				return nil
			}
			return &Errors{List: []*Error{{File: s.name, Line: s.line, Column: s.col + 1,
				Msg: "expected a snapshot object, got " + describeByte(c)}}}
		}
	}
	return nil
}
