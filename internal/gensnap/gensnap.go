// Package gensnap generates large, deterministic snapshots in format v1 for
// benchmarks and tests: component trees several levels deep, destroyed
// components, missing owners and parents, dependencies, creation stacks,
// metadata and released resources, streamed as JSON.
package gensnap

import (
	"bufio"
	"io"
	"math/rand/v2"
	"strconv"
	"time"
	"unicode/utf8"
)

// Config sets the size and shape of a generated snapshot. The zero value of
// each field but the counts is a sensible default.
type Config struct {
	// Components, Resources and Cleanups are the counts generated.
	Components, Resources, Cleanups int
	// Seed makes the output deterministic: the same Config gives the same bytes.
	Seed uint64
	// Cycles is how many dependency cycles of live resources to add (three
	// resources each); 0 keeps the dependencies acyclic, so a cleanup plan exists.
	Cycles int
	// TakenAt is the snapshot's time; zero means 2026-11-27T12:00:05Z.
	TakenAt time.Time
	// Shape chooses the kind of registry; the zero value is Standard.
	Shape Shape
}

// Shape is a kind of registry the generator can make. The benchmarks run
// every shape, so that a speed-up that holds only for one of them shows.
type Shape string

const (
	// Standard is the shape of the first performance work: half of the
	// runnable resources running, one to three frames per creation stack,
	// metadata on three resources in four, dependencies on the 500 resources
	// before.
	Standard Shape = ""
	// Heavy is a registry of a busy application: nine runnable resources in
	// ten running, creation stacks of 8 to 16 frames, metadata and labels on
	// everything, unknown fields on one resource in ten and escaped strings
	// on one in twenty.
	Heavy Shape = "heavy"
	// Deep is a registry with long dependency chains across the whole id
	// space (on earlier resources only, so that a cleanup plan exists),
	// component trees dozens of levels deep and ten times as many cleanup
	// callbacks.
	Deep Shape = "deep"
)

// Shapes lists every shape, Standard first, by the names ParseShape takes.
var Shapes = []string{"standard", "heavy", "deep"}

// ParseShape returns the shape of a name in Shapes.
func ParseShape(name string) (Shape, bool) {
	switch name {
	case "standard", "":
		return Standard, true
	case "heavy":
		return Heavy, true
	case "deep":
		return Deep, true
	}
	return Standard, false
}

// Sizes for the benchmarks: Large is the 1,000,000-resource registry of
// the performance issue (about 343 MB), Small a tenth of it and Tiny a
// hundredth.
var (
	Tiny  = Config{Components: 1_000, Resources: 10_000, Cleanups: 200, Seed: 1}
	Small = Config{Components: 10_000, Resources: 100_000, Cleanups: 2_000, Seed: 1}
	Large = Config{Components: 100_000, Resources: 1_000_000, Cleanups: 20_000, Seed: 1}
)

// A Size is one of the registries the Go benchmarks run on.
type Size struct {
	Name   string
	Config Config
}

// BenchSizes are the benchmarks' registries, smallest first: Tiny, Small
// and Large, named by their resource counts.
func BenchSizes() []Size {
	return []Size{{"10k", Tiny}, {"100k", Small}, {"1M", Large}}
}

// Scale returns the standard shape (Large's proportions) for n resources.
func Scale(n int) Config {
	return Config{Components: max(n/10, 1), Resources: n, Cleanups: n / 50, Seed: 1}
}

// ScaleShape returns shape's proportions for n resources: Scale's, but
// for Deep one cleanup callback per five resources.
func ScaleShape(n int, shape Shape) Config {
	cfg := Scale(n)
	cfg.Shape = shape
	if shape == Deep {
		cfg.Cleanups = n / 5
	}
	return cfg
}

var compKinds = []struct{ typ, prefix, name string }{
	{"window", "window", "MainWindow"},
	{"tab", "tab", "MediaTab"},
	{"controller", "controller", "TabController"},
	{"coordinator", "coord", "WorkerCoordinator"},
	{"coordinator", "uicoord", "UICoordinator"},
	{"plugin", "plugin", "Plugin"},
}

var resKinds = []struct {
	typ, name, strategy string
	minSize, maxSize    int64
}{
	{"worker", "analysis-worker", "worker", 1 << 16, 16 << 20},
	{"thread", "io-thread", "thread", 1 << 14, 1 << 20},
	{"timer", "progress-timer", "timer", 0, 0},
	{"process", "ffprobe", "process", 1 << 20, 64 << 20},
	{"file", "cache.db", "file", 4096, 8 << 20},
	{"socket", "preview-socket", "socket", 4096, 65536},
	{"qobject", "ResultsTableModel", "qobject", 1024, 1 << 20},
	{"memory", "thumbnail-buffer", "memory", 1 << 16, 32 << 20},
	{"pool", "connection-pool", "pool", 1 << 16, 4 << 20},
	{"custom", "gpu-texture", "release", 1 << 16, 16 << 20},
}

// frames is the pool of creation-stack frames; real registries have a few
// hundred distinct call sites, which is what leak signatures group by.
var frames = func() []string {
	files := []string{"media_analysis_controller.py", "media_analysis_tab.py", "thumbnail_worker.py",
		"copy_verify_controller.py", "main_window.py", "plugin_host.py", "cache.py", "preview_socket.py"}
	funcs := []string{"start_analysis_workflow", "start_analysis", "_build_results_table", "open_cache",
		"spawn_probe", "_start_autosave", "load_plugin", "connect_preview", "render_thumbnail", "verify_copy"}
	var out []string
	for i, f := range files {
		for j, fn := range funcs {
			out = append(out, f+":"+strconv.Itoa(40+7*i+13*j)+" "+fn)
		}
	}
	return out
}()

type gen struct {
	cfg  Config
	rng  *rand.Rand
	w    *bufio.Writer
	b    []byte
	base time.Time // first creation time
	span int64     // nanoseconds between base and taken_at

	compID    []string
	compState []bool // destroyed
	compTime  []int64
}

// Generate writes the snapshot cfg describes to w.
func Generate(cfg Config, w io.Writer) error {
	if cfg.TakenAt.IsZero() {
		cfg.TakenAt = time.Date(2026, 11, 27, 12, 0, 5, 0, time.UTC)
	}
	g := &gen{
		cfg:  cfg,
		rng:  rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		w:    bufio.NewWriterSize(w, 1<<20),
		b:    make([]byte, 0, 4096),
		base: cfg.TakenAt.Add(-2 * time.Hour),
		span: int64(2*time.Hour - time.Second),
	}
	g.header()
	g.components()
	g.resources()
	g.cleanups()
	g.b = append(g.b, "\n}\n"...)
	g.flush()
	return g.w.Flush()
}

func (g *gen) flush() {
	_, _ = g.w.Write(g.b) // a write error sticks in the bufio.Writer and is returned by Flush
	g.b = g.b[:0]
}

// endElement closes the element b holds the end of and keeps b, writing
// it out once it holds 64 KiB.
func (g *gen) endElement(b []byte) {
	g.b = append(b, '}')
	if len(g.b) > 64<<10 {
		g.flush()
	}
}

func (g *gen) header() {
	b := g.b
	b = append(b, `{"format":"rescoord/v1","taken_at":`...)
	b = g.appendTime(b, g.cfg.TakenAt)
	b = append(b, `,
"source":{"process":"gensnap","pid":4242,"host":"bench","runtime":"python 3.12, PySide6 6.7","producer":"gensnap","seed":`...)
	b = strconv.AppendUint(b, g.cfg.Seed, 10)
	b = append(b, "},\n"...)
	// The global limit is a little under the expected live bytes, so the
	// over-global-limit rule fires; about one component in a hundred has a
	// limit of its own.
	b = append(b, `"limits":{"global_bytes":`...)
	b = strconv.AppendInt(b, int64(g.cfg.Resources)*3<<20, 10)
	b = append(b, `,"components":{`...)
	n := 0
	for i := 0; i < g.cfg.Components; i += 97 {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = appendString(b, compIDFor(i))
		b = append(b, ':')
		b = strconv.AppendInt(b, 1<<26+int64(i%7)<<24, 10)
	}
	b = append(b, "}},\n"...)
	g.b = b
	g.flush()
}

func compIDFor(i int) string {
	k := compKinds[kindOf(i)]
	return k.prefix + "-" + strconv.Itoa(i)
}

// kindOf gives the component kind by position, so ids can be named before
// the component is generated.
func kindOf(i int) int {
	switch {
	case i%50 == 0:
		return 0
	case i%5 == 1:
		return 1
	case i%5 == 2:
		return 2
	default:
		return 3 + i%3
	}
}

func (g *gen) components() {
	nc := g.cfg.Components
	g.compID = make([]string, nc)
	g.compState = make([]bool, nc)
	g.compTime = make([]int64, nc)
	depth := make([]int8, nc)
	maxDepth, window := int8(7), 64
	if g.cfg.Shape == Deep {
		maxDepth, window = 60, 3
	}
	g.b = append(g.b, `"components":[`...)
	for i := range nc {
		id := compIDFor(i)
		g.compID[i] = id
		k := compKinds[kindOf(i)]
		t := int64(i) * (g.span / 4 / int64(max(nc, 1)))
		g.compTime[i] = t
		parent := ""
		if kindOf(i) != 0 && i > 0 {
			// A parent among the recent components of a shallower depth,
			// which gives trees several levels deep.
			for try := 0; try < 8; try++ {
				p := i - 1 - g.rng.IntN(min(i, window))
				if depth[p] < maxDepth {
					parent = g.compID[p]
					depth[i] = depth[p] + 1
					break
				}
			}
		}
		r := g.rng.Float64()
		if parent != "" && r < 0.004 {
			parent = "vanished-" + strconv.Itoa(i) // weakly held parent, gone
			depth[i] = 0
		}
		destroyed := i > 0 && g.rng.Float64() < 0.10
		g.compState[i] = destroyed

		b := g.b
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n{\"id\":"...)
		b = appendString(b, id)
		b = append(b, `,"name":`...)
		b = appendString(b, k.name+strconv.Itoa(i))
		b = append(b, `,"type":"`...)
		b = append(b, k.typ...)
		b = append(b, '"')
		if parent != "" {
			b = append(b, `,"parent":`...)
			b = appendString(b, parent)
		}
		if destroyed {
			b = append(b, `,"state":"destroyed","created_at":`...)
			b = g.appendTime(b, g.base.Add(time.Duration(t)))
			b = append(b, `,"destroyed_at":`...)
			b = g.appendTime(b, g.cfg.TakenAt.Add(-time.Duration(g.rng.Int64N(int64(time.Hour)))))
		} else {
			b = append(b, `,"state":"alive","created_at":`...)
			b = g.appendTime(b, g.base.Add(time.Duration(t)))
		}
		if i%4 == 0 || g.cfg.Shape == Heavy {
			b = append(b, `,"labels":{"plugin":"media","coordinator":"`...)
			b = append(b, k.prefix...)
			b = append(b, `"}`...)
		}
		g.endElement(b)
	}
	g.b = append(g.b, "\n],\n"...)
	g.flush()
}

func (g *gen) resources() {
	nr, nc := g.cfg.Resources, g.cfg.Components
	// Cycles: resource i of a cycle depends on the next; they are placed at
	// the start, live and owned by alive components.
	cycleEnd := 3 * min(g.cfg.Cycles, nr/3)
	live := make([]bool, nr)
	g.b = append(g.b, `"resources":[`...)
	for i := range nr {
		kind := g.rng.IntN(len(resKinds))
		rk := resKinds[kind]
		owner := ""
		ownerIdx := -1
		if nc > 0 && (g.rng.Float64() >= 0.003 || i < cycleEnd) {
			// Resources cluster on components: the owner is one of the
			// components created around the same time.
			ownerIdx = min(nc-1, i*nc/max(nr, 1)+g.rng.IntN(8))
			owner = g.compID[ownerIdx]
		} else {
			owner = "gone-" + strconv.Itoa(g.rng.IntN(max(nc, 1)))
		}
		state := "active"
		switch r := g.rng.Float64(); {
		case i < cycleEnd:
		case ownerIdx >= 0 && g.compState[ownerIdx]:
			// A destroyed component released most of what it owned: the
			// rest are the leaks.
			if r < 0.75 {
				state = "released"
			}
		case r < 0.08:
			state = "released"
		case r < 0.12:
			state = "releasing"
		}
		live[i] = state != "released"

		b := g.b
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n{\"id\":\"r-"...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `","type":"`...)
		b = append(b, rk.typ...)
		b = append(b, `","owner":`...)
		b = appendString(b, owner)
		b = append(b, `,"name":`...)
		if i%1000 == 7 || (g.cfg.Shape == Heavy && i%20 == 7) {
			b = appendString(b, rk.name+" «é» \"quoted\"") // escapes and UTF-8
		} else {
			b = appendString(b, rk.name+"-"+strconv.Itoa(i%997))
		}
		b = append(b, `,"state":"`...)
		b = append(b, state...)
		b = append(b, '"')
		if kind <= 3 && state != "released" && g.running() {
			b = append(b, `,"running":true`...)
		}
		if rk.maxSize > 0 {
			b = append(b, `,"size_bytes":`...)
			b = strconv.AppendInt(b, rk.minSize+g.rng.Int64N(rk.maxSize-rk.minSize), 10)
		}
		b = append(b, `,"created_at":`...)
		t := int64(g.span/4) + int64(i)*(g.span*3/4/int64(max(nr, 1)))
		b = g.appendTime(b, g.base.Add(time.Duration(t+g.rng.Int64N(1_000_000))))
		// Dependencies point to earlier resources, so they form no cycle.
		switch {
		case i < cycleEnd:
			next := i + 1
			if next%3 == 0 {
				next -= 3
			}
			b = append(b, `,"depends_on":["r-`...)
			b = strconv.AppendInt(b, int64(next), 10)
			b = append(b, `"]`...)
		case i > 0 && g.cfg.Shape == Deep:
			b = g.appendDeepDeps(b, i)
		case i > 0 && g.rng.IntN(10) < 3:
			b = append(b, `,"depends_on":[`...)
			n := 1 + g.rng.IntN(2)
			for k := range n {
				if k > 0 {
					b = append(b, ',')
				}
				if g.rng.IntN(200) == 0 {
					b = append(b, `"r-missing-`...)
					b = strconv.AppendInt(b, int64(i), 10)
					b = append(b, '"')
					continue
				}
				b = append(b, `"r-`...)
				b = strconv.AppendInt(b, int64(i-1-g.rng.IntN(min(i, 500))), 10)
				b = append(b, '"')
			}
			b = append(b, ']')
		}
		if g.rng.IntN(10) == 0 {
			b = append(b, `,"cleanup":{"strategy":"`...)
			b = append(b, rk.strategy...)
			b = append(b, `","timeout_ms":`...)
			b = strconv.AppendInt(b, int64(500*(1+g.rng.IntN(8))), 10)
			b = append(b, '}')
		}
		b = append(b, `,"created_by":[`...)
		site := (kind*31 + g.rng.IntN(12)) % len(frames)
		b = appendString(b, frames[site])
		extraFrames := g.rng.IntN(3)
		if g.cfg.Shape == Heavy {
			extraFrames = 7 + g.rng.IntN(9)
		}
		for k := range extraFrames {
			b = append(b, ',')
			b = appendString(b, frames[(site+7*(k+1))%len(frames)])
		}
		b = append(b, ']')
		metaKind := g.rng.IntN(4)
		if g.cfg.Shape == Heavy && metaKind == 3 {
			metaKind = i % 3
		}
		switch metaKind {
		case 0:
			b = append(b, `,"metadata":{"files":`...)
			b = strconv.AppendInt(b, int64(g.rng.IntN(5000)), 10)
			b = append(b, `,"codec":"h264"}`...)
		case 1:
			b = append(b, `,"metadata":{"path":"/home/ana/.cache/media-app/`...)
			b = strconv.AppendInt(b, int64(i), 10)
			b = append(b, `.bin","tags":["thumb","cache"],"retries":null}`...)
		case 2:
			b = append(b, `,"metadata":{"queue":"analysis","attempt":`...)
			b = strconv.AppendInt(b, int64(g.rng.IntN(5)), 10)
			b = append(b, `,"priority":"normal"}`...)
		}
		if i%100 == 50 || (g.cfg.Shape == Heavy && i%10 == 5) {
			b = append(b, `,"thread_id":`...) // a field this version does not know
			b = strconv.AppendInt(b, int64(10000+i%5000), 10)
		}
		if g.cfg.Shape == Heavy {
			b = append(b, `,"labels":{"queue":"analysis","tab":`...)
			b = appendString(b, "tab-"+strconv.Itoa(i%64))
			b = append(b, '}')
			if i%10 == 5 {
				// an unknown object, with an escaped path inside it
				b = append(b, `,"trace":{"span":"`...)
				b = strconv.AppendInt(b, int64(i), 16)
				b = append(b, `","where":"C:\\media\\caf\u00e9\/thumbs","sampled":[true,false]}`...)
			}
		}
		g.endElement(b)
	}
	g.b = append(g.b, "\n],\n"...)
	g.flush()
}

// running tells whether a live runnable resource runs: one in two, nine
// in ten in the heavy shape.
func (g *gen) running() bool {
	if g.cfg.Shape == Heavy {
		return g.rng.IntN(10) != 0
	}
	return g.rng.IntN(2) == 0
}

// appendDeepDeps appends the dependencies of resource i > 0 in the deep
// shape: all but one in a thousand continue a chain from one of the
// three resources before, and one in four points anywhere earlier in the
// id space too — so chains run through the whole registry.
func (g *gen) appendDeepDeps(b []byte, i int) []byte {
	var deps [2]int
	n := 0
	if g.rng.IntN(1000) != 0 {
		deps[n] = i - 1 - g.rng.IntN(min(i, 3))
		n++
	}
	if g.rng.IntN(4) == 0 {
		deps[n] = g.rng.IntN(i)
		if n == 0 || deps[1] != deps[0] {
			n++
		}
	}
	if n == 0 {
		return b
	}
	b = append(b, `,"depends_on":[`...)
	for k := range n {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, `"r-`...)
		b = strconv.AppendInt(b, int64(deps[k]), 10)
		b = append(b, '"')
	}
	return append(b, ']')
}

func (g *gen) cleanups() {
	nc := g.cfg.Components
	g.b = append(g.b, `"cleanups":[`...)
	for i := range g.cfg.Cleanups {
		b := g.b
		if i > 0 {
			b = append(b, ',')
		}
		ci := g.rng.IntN(max(nc, 1))
		comp := "nobody"
		if nc > 0 {
			comp = g.compID[ci]
		}
		b = append(b, "\n{\"id\":\"c-"...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `","component":`...)
		b = appendString(b, comp)
		b = append(b, `,"name":`...)
		b = appendString(b, compKinds[kindOf(ci)].name+".cleanup_all")
		b = append(b, `,"priority":`...)
		b = strconv.AppendInt(b, int64(g.rng.IntN(21)-5), 10)
		if g.rng.IntN(2) == 0 {
			b = append(b, `,"timeout_ms":`...)
			b = strconv.AppendInt(b, int64(1000*(1+g.rng.IntN(5))), 10)
		}
		g.endElement(b)
	}
	g.b = append(g.b, "\n]"...)
}

func (g *gen) appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	return append(b, '"')
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			_, n := utf8.DecodeRuneInString(s[i:])
			b = append(b, s[i:i+n]...)
			i += n
			continue
		}
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
		i++
	}
	return append(b, '"')
}
