package leaks

import (
	"cmp"
	"hash/maphash"
	"slices"
	"sync"
	"time"

	"github.com/rescoord/rescoord/internal/hugemem"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// ReportOptions say how to turn findings into a report: what fails, what
// is shown, what is suppressed and what it is compared with.
type ReportOptions struct {
	Leaks LeakOptions
	// FailOn: the report fails when a finding at or above this severity is
	// neither suppressed nor reported by an action-report entry. The zero
	// Severity never fails (--fail-on none).
	FailOn Severity
	// Show hides findings below this severity from the report's findings
	// and groups; they still count in the summary and toward FailOn. Zero
	// shows everything.
	Show Severity
	// Suppressions, when not nil, are applied at time Now (the wall
	// clock, for expires dates).
	Suppressions *Suppressions
	Now          time.Time
	// Baseline, when not nil, is an older snapshot of the same scenario:
	// findings whose signature it also has are dropped, and growth since
	// it is reported.
	Baseline *snapshot.Index
	// BaselineSignatures, when Baseline is nil, are the signatures of an
	// older report's findings (ReportSignatures): findings that have one
	// of them are dropped. There is no growth to report without the
	// snapshot.
	BaselineSignatures []string
	// Series, when not empty, are older snapshots of the same scenario,
	// oldest first (at least two): growth is reported where it is
	// monotonic across them and the current one.
	Series []*snapshot.Index
	// Growth are the growth thresholds (DefaultGrowth() when zero).
	Growth GrowthOptions
	// Reconcile, when not nil, is what the operating system shows of the
	// process the snapshot comes from (a proc: snapshot of its pid): the
	// objects the registry does not track are untracked-resource findings
	// (Reconcile), but for the sockets of the addresses in Serving, the
	// registry's own server.
	Reconcile *snapshot.Index
	Serving   []string
	// DeferText leaves the text of the findings about one resource — the
	// bulk of a leaky snapshot's — to be made when it is printed: such a
	// finding of the report comes with every field but Message, Path,
	// PathElided and Dangling. Report.AppendFindingJSON makes those as it
	// writes a finding's JSON, Report.Complete for findings in place. A
	// report of many findings then takes a fraction of the memory
	// (docs/performance.md).
	DeferText bool
}

// LeakSummary counts the findings of a report by severity (docs/leaks.md): every
// finding neither suppressed nor in the baseline, shown or not.
type LeakSummary struct {
	Critical   int `json:"critical"`
	Error      int `json:"error"`
	Warning    int `json:"warning"`
	Info       int `json:"info"`
	Suppressed int `json:"suppressed"`
}

// Count returns the number of findings of severity s.
func (s *LeakSummary) Count(sev Severity) int {
	switch sev {
	case SeverityCritical:
		return s.Critical
	case SeverityError:
		return s.Error
	case SeverityWarning:
		return s.Warning
	case SeverityInfo:
		return s.Info
	}
	return 0
}

func (s *LeakSummary) add(sev Severity) {
	switch sev {
	case SeverityCritical:
		s.Critical++
	case SeverityError:
		s.Error++
	case SeverityWarning:
		s.Warning++
	case SeverityInfo:
		s.Info++
	}
}

// Group is the findings that share a signature, a severity and a
// suppression: reports show them once, "×N".
type Group struct {
	Signature string
	Rule      Rule
	// Findings are the group's findings, in snapshot order (a window of
	// Report.Findings).
	Findings []Finding
	Severity Severity
	// Fails is set when the group makes the report fail. It sits beside
	// Severity, in what would be its padding (docs/performance.md, "A
	// smaller resource").
	Fails bool
}

// Report is the outcome of a leak analysis, ready for printers.
type Report struct {
	// Index is the snapshot the findings are about.
	Index *snapshot.Index
	// Findings are the shown findings, group by group.
	Findings []Finding
	// Groups are the shown groups: most severe first, then the largest,
	// then in rule order and in snapshot order.
	Groups  []Group
	Summary LeakSummary
	// Suppressions is the suppressions file applied, nil when none.
	Suppressions *Suppressions
	// Uses says how each suppression entry fared, in file order.
	Uses []SuppressionUse
	// FailOn and Show are the options the report was made with.
	FailOn, Show Severity
	// Failed is set when a finding at or above FailOn is not suppressed.
	Failed bool
	// Failing counts the findings that make the report fail.
	Failing int
	// Hidden counts the findings below Show.
	Hidden int
	// InBaseline counts the findings dropped because the baseline has
	// their signature.
	InBaseline int
	// Rules lists the rules that ran, in Rules order.
	Rules []Rule
	// RuleCounts counts every finding of the report (shown or not) per rule.
	RuleCounts map[Rule]int
	// Snapshots is how many snapshots growth compared (0 without
	// baseline or series).
	Snapshots int

	// text makes the text ReportOptions.DeferText left out; nil without.
	text *finder
}

// AppendFindingJSON appends the JSON of f, a finding of r, to dst, as
// f.AppendJSON does. When r was made with ReportOptions.DeferText and left
// f's text out, the text is made first, in s's memory, which the next call
// with s writes over: each goroutine needs its own Scratch, whose zero
// value is ready to use. A report of a million findings is written so
// with the memory of one.
func (r *Report) AppendFindingJSON(dst []byte, f *Finding, s *Scratch, prefix, indent string) []byte {
	slot, p, left := f.textLeft()
	if !left || r.text == nil {
		return f.AppendJSON(dst, prefix, indent)
	}
	if s.b == nil || s.b.finder != r.text {
		s.b = r.text.newBuilder()
	}
	s.b.reuse()
	s.f = *f
	s.f.later, s.f.deps = 0, 0
	s.b.describe(&s.f, slot, p)
	return s.f.AppendJSON(dst, prefix, indent)
}

// Scratch is the memory Report.AppendFindingJSON makes a finding's text
// in, used again by every call. Nothing it holds leaves it.
type Scratch struct {
	f Finding
	b *builder
}

// Complete makes the text ReportOptions.DeferText left out of fs, findings
// of r (r.Findings or a window of it, such as a group's), in place, on
// every core when they are many, as if r had been made without it.
// Findings that have their text are left alone, so calling it again costs
// little; it must not run on the same findings from two goroutines at once.
func (r *Report) Complete(fs []Finding) {
	if r.text == nil {
		return
	}
	r.completeEach(len(fs), func(c *completer, i, to int) { c.complete(&fs[i], to-i) })
}

// CompleteGroups is Complete for the first perGroup findings of each of
// gs, groups of r (a window of r.Groups): what a report that shows those
// groups by their first findings reads, and a report that shows a few
// thousand groups of a million findings need make no other text
// (docs/performance.md, "Findings' text when it is written").
func (r *Report) CompleteGroups(gs []Group, perGroup int) {
	if r.text == nil || perGroup <= 0 {
		return
	}
	r.completeEach(len(gs), func(c *completer, i, to int) {
		fs := gs[i].Findings
		for k := range fs[:min(len(fs), perGroup)] {
			c.complete(&fs[k], to-i) // a group's first finding, mostly
		}
	})
}

// completeEach runs each(i, to) for i in [0, n), in ranges [from, to) on
// every core when n is large, each range with its own completer.
func (r *Report) completeEach(n int, each func(c *completer, i, to int)) {
	workers := r.text.tune.leakWorkers(n, r.text.tune.buildRange)
	run := func(from, to int) {
		c := completer{f: r.text}
		for i := from; i < to; i++ {
			each(&c, i, to)
		}
	}
	if workers == 1 { // a few groups, as a printer shows them one by one
		run(0, n)
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { run(n*w/workers, n*(w+1)/workers) })
	}
	wg.Wait()
}

// completer makes findings' text with a builder of its own, made when a
// first finding needs it.
type completer struct {
	f *finder
	b *builder
}

// complete makes f's text if it was left out; about left findings, f
// among them, may follow, which sizes the builder's first block of text.
func (c *completer) complete(f *Finding, left int) {
	slot, p, ok := f.textLeft()
	if !ok {
		return
	}
	if c.b == nil {
		c.b = c.f.newBuilder()
		c.b.text.next = left * messageBytes
	}
	f.later, f.deps = 0, 0
	c.b.describe(f, slot, p)
}

// Fails reports whether a finding makes a report with threshold failOn fail.
func (f *Finding) Fails(failOn Severity) bool {
	return failOn != 0 && f.Severity >= failOn && f.SuppressedBy == nil
}

// Analyze runs the leak rules on ix, adds growth, applies suppressions and
// the baseline, and groups what is left. It is a pure function of its
// inputs.
func Analyze(ix *snapshot.Index, opts ReportOptions) *Report {
	return analyze(ix, opts, maphash.String)
}

// analyze is Analyze with the hash that groups signatures (the tests make
// it collide).
func analyze(ix *snapshot.Index, opts ReportOptions, hash func(maphash.Seed, string) uint64) *Report {
	r := &Report{Index: ix, Suppressions: opts.Suppressions, FailOn: opts.FailOn, Show: opts.Show, RuleCounts: map[Rule]int{}}
	growth := opts.Growth
	if growth == (GrowthOptions{}) {
		growth = DefaultGrowth()
	}
	tune := defaults()
	all, text := findLeaks(ix, opts.Leaks, tune, opts.DeferText)
	if opts.DeferText {
		r.text = text
	}
	var series []*snapshot.Index
	switch {
	case opts.Baseline != nil:
		series = []*snapshot.Index{opts.Baseline, ix}
	case len(opts.Series) > 0:
		series = append(slices.Clone(opts.Series), ix)
	}
	if len(series) > 1 {
		r.Snapshots = len(series)
		all = append(all, FindGrowth(series, growth)...)
	}
	if opts.Reconcile != nil {
		all = append(all, Reconcile(ix, opts.Reconcile, opts.Serving...)...)
	}
	for _, ri := range rules {
		switch ri.ID {
		case RuleStaleResource:
			if opts.Leaks.MaxAge <= 0 {
				continue
			}
		case RuleGrowth:
			if len(series) < 2 {
				continue
			}
		case RuleUntrackedResource:
			if opts.Reconcile == nil {
				continue
			}
		case RuleExpiredSuppression, RuleUnusedSuppression:
			if opts.Suppressions == nil {
				continue
			}
		}
		r.Rules = append(r.Rules, ri.ID)
	}

	sup := opts.Suppressions.Apply(ix, all, opts.Now)
	r.Uses = sup.Uses
	r.Summary.Suppressed = sup.Ignored
	kept := sup.Kept

	if opts.Baseline != nil || len(opts.BaselineSignatures) > 0 {
		known := make(map[string]bool)
		if opts.Baseline != nil {
			base, _ := findLeaks(opts.Baseline, opts.Leaks, defaults(), true) // only their signatures
			for _, f := range base {
				known[f.Signature] = true
			}
		}
		for _, sig := range opts.BaselineSignatures {
			known[sig] = true
		}
		n := 0
		for _, f := range kept {
			if f.Rule != RuleGrowth && known[f.Signature] {
				r.InBaseline++
				continue
			}
			kept[n] = f
			n++
		}
		kept = kept[:n]
	}
	kept = append(kept, sup.Findings...)

	n := 0
	for i := range kept {
		f := &kept[i]
		r.Summary.add(f.Severity)
		r.RuleCounts[f.Rule]++
		if f.Fails(opts.FailOn) {
			r.Failing++
		}
		if opts.Show != 0 && f.Severity < opts.Show {
			r.Hidden++
			continue
		}
		if n != i {
			kept[n] = *f
		}
		n++
	}
	kept = kept[:n]
	r.Failed = r.Failing > 0
	r.Findings, r.Groups = group(kept, opts.FailOn, hash, tune)
	return r
}

// group orders findings group by group (keeping snapshot order within a
// group), in place, and returns them with the groups, each a window of
// the ordered findings.
func group(fs []Finding, failOn Severity, hash func(maphash.Seed, string) uint64, tune tuning) ([]Finding, []Group) {
	gid, infos := findGroups(fs, hash, tune)
	order := make([]int32, len(infos))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		ia, ib := &infos[a], &infos[b]
		if c := cmp.Compare(ib.sev, ia.sev); c != 0 {
			return c
		}
		if c := cmp.Compare(ib.count, ia.count); c != 0 {
			return c
		}
		if c := cmp.Compare(ia.rule, ib.rule); c != 0 {
			return c
		}
		return cmp.Compare(ia.first, ib.first)
	})
	// Counting sort: each group's window starts after the groups before
	// it. next[g] is where the next finding of group g goes; dest[i]
	// where finding i goes.
	next := make([]int32, len(infos))
	pos := int32(0)
	for _, g := range order {
		next[g] = pos
		pos += infos[g].count
	}
	dest := gid
	for i, g := range gid {
		dest[i] = next[g]
		next[g]++
	}
	// Move the findings in place, a cycle of the permutation at a time:
	// each swap puts one finding where it belongs. (A copy would cost as
	// much again in fresh memory as the findings take.)
	for i := range fs {
		for int(dest[i]) != i {
			j := dest[i]
			fs[i], fs[j] = fs[j], fs[i]
			dest[i], dest[j] = dest[j], dest[i]
		}
	}
	groups := hugemem.Make[Group](len(order))
	pos = 0
	for k, g := range order {
		w := fs[pos : pos+infos[g].count]
		pos += infos[g].count
		groups[k] = Group{Signature: w[0].Signature, Rule: w[0].Rule, Severity: w[0].Severity, Findings: w, Fails: w[0].Fails(failOn)}
	}
	// Scratch, handed back (docs/performance.md, "Scratch handed back").
	hugemem.Release(gid, order, next)
	hugemem.Release(infos)
	return fs, groups
}

// groupInfo is what groups are ordered by, kept together so that sorting
// a hundred thousand groups does not go back to their findings.
type groupInfo struct {
	first, count int32 // the group's first finding, and how many
	sev          Severity
	rule         int8 // ruleOrder
}

// findGroups finds the groups of fs: the findings that share a signature,
// a severity and whether an action-report entry matched them. gid[i] is
// the group of finding i; groups are numbered in the order of their first
// finding. hash hashes a signature (maphash.String).
//
// It sorts the findings' keys (a hash of the signature, the severity and
// the suppression, then the position): on a hundred thousand findings,
// cheaper than a map of their signatures, whose memory is all fresh.
//
// With two workers or more (tune.groupHalf findings each) it keys the
// findings in two halves at once and sorts them in two parts.
func findGroups(fs []Finding, hash func(maphash.Seed, string) uint64, tune tuning) (gid []int32, infos []groupInfo) {
	type entry struct {
		hash uint64
		tie  uint16 // severity and suppression
		rule int8   // the finding's ruleOrder (not part of the key)
		i    int32
	}
	es := hugemem.Make[entry](len(fs))
	seed := maphash.MakeSeed()
	// Many findings are keyed and sorted in two halves at once: those
	// whose hash has its top bit clear, then the others, each sorted on
	// its own core, are the whole sorted (docs/performance.md, "Groups
	// found on two cores").
	halves := tune.leakWorkers(len(fs), tune.groupHalf) > 1
	key := func(from, to int) {
		lastRule, lastOrder := Rule(""), int8(0)
		for i := from; i < to; i++ {
			f := &fs[i]
			if i == from || f.Rule != lastRule {
				lastRule, lastOrder = f.Rule, int8(ruleOrder(f.Rule))
			}
			tie := uint16(uint8(f.Severity)) << 1
			if f.SuppressedBy != nil {
				tie |= 1
			}
			es[i] = entry{hash(seed, f.Signature), tie, lastOrder, int32(i)}
		}
	}
	sort := func(es []entry) {
		slices.SortFunc(es, func(a, b entry) int {
			if c := cmp.Compare(a.hash, b.hash); c != 0 {
				return c
			}
			if c := cmp.Compare(a.tie, b.tie); c != 0 {
				return c
			}
			return cmp.Compare(a.i, b.i)
		})
	}
	if !halves {
		key(0, len(fs))
		sort(es)
	} else {
		var wg sync.WaitGroup
		wg.Go(func() { key(0, len(fs)/2) })
		key(len(fs)/2, len(fs))
		wg.Wait()
		lo, hi := 0, len(es)-1 // the top bit clear before lo, set after hi
		for lo <= hi {
			switch {
			case es[lo].hash>>63 == 0:
				lo++
			case es[hi].hash>>63 == 1:
				hi--
			default:
				es[lo], es[hi] = es[hi], es[lo]
			}
		}
		wg.Go(func() { sort(es[:lo]) })
		sort(es[lo:])
		wg.Wait()
	}

	gid = make([]int32, len(fs))
	byHash := make([]groupInfo, 0, len(fs))
	var run []int32 // the groups of a run of equal keys
	for lo := 0; lo < len(es); {
		hi := lo + 1
		for hi < len(es) && es[hi].hash == es[lo].hash && es[hi].tie == es[lo].tie {
			hi++
		}
		// A run of equal keys is one group, unless signatures that differ
		// have the same hash: then each is a group.
		run = run[:0]
		for _, e := range es[lo:hi] {
			g := int32(-1)
			for _, h := range run {
				if fs[byHash[h].first].Signature == fs[e.i].Signature {
					g = h
					break
				}
			}
			if g < 0 {
				g = int32(len(byHash))
				byHash = append(byHash, groupInfo{first: e.i, sev: Severity(e.tie >> 1), rule: e.rule})
				run = append(run, g)
			}
			byHash[g].count++
			gid[e.i] = g
		}
		lo = hi
	}
	hugemem.Release(es)

	// Renumber the groups in the order of their first finding: findings
	// come in rule order, so the groups then nearly are in report order.
	renumber := make([]int32, len(byHash))
	infos = make([]groupInfo, 0, len(byHash))
	for i, g := range gid {
		if byHash[g].first == int32(i) {
			renumber[g] = int32(len(infos))
			infos = append(infos, byHash[g])
		}
		gid[i] = renumber[g]
	}
	hugemem.Release(byHash)
	hugemem.Release(renumber)
	return gid, infos
}
