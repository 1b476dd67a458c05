package goroutines

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/rescoord/rescoord/internal/safeid"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// BuildOptions direct how goroutines become a snapshot.
type BuildOptions struct {
	// TakenAt is the snapshot's taken_at: when the dump was written.
	TakenAt time.Time
	// Process, PID, Host and Producer fill the snapshot's source.
	Process  string
	PID      int64
	Host     string
	Producer string
	// Label, when set, groups the goroutines that carry this pprof label
	// under one component per value; the others, and all of them when
	// Label is empty, go under the package of the function that started
	// them (docs/importers.md).
	Label string
}

// RootID is the id of the component that stands for the program.
const RootID = "process"

// LeakedField is the resource field that marks a goroutine the runtime
// found leaked (the goroutineleak profile): the leaked-goroutine rule of
// docs/leaks.md reports the live resources that have it set to true.
const LeakedField = "leaked"

// Package is the import path of a function's package:
// "net/http.(*conn).serve" → "net/http", "main.main.func1" → "main".
func Package(fn string) string {
	slash := strings.LastIndexByte(fn, '/')
	dot := strings.IndexByte(fn[slash+1:], '.')
	if dot < 0 {
		return fn
	}
	return fn[:slash+1+dot]
}

// Group is the package a goroutine is grouped by: that of the function
// whose go statement started it, or for a goroutine without one (the main
// goroutine) that of its outermost function.
func Group(g *Goroutine) string {
	switch {
	case g.CreatedBy != nil:
		return Package(g.CreatedBy.Func)
	case entry(g) != "":
		return Package(entry(g))
	}
	return "unknown"
}

// entry is the function the goroutine started in: its outermost frame
// but for the runtime's own (runtime.goexit, runtime.main), "" without one.
func entry(g *Goroutine) string {
	for i := len(g.Frames) - 1; i >= 0; i-- {
		switch f := g.Frames[i].Func; f {
		case "runtime.goexit", "runtime.main":
		default:
			return f
		}
	}
	return ""
}

// Build makes the snapshot of gs: a component for the program, one per
// group under it, and a thread resource per goroutine.
func Build(gs []Goroutine, opts BuildOptions) *snapshot.Snapshot {
	name := opts.Process
	if name == "" {
		name = "go program"
	}
	s := &snapshot.Snapshot{
		Format:  snapshot.FormatV1,
		TakenAt: opts.TakenAt.UTC(),
		Source: snapshot.Source{Process: opts.Process, PID: opts.PID, Host: opts.Host,
			Runtime: "go", Producer: opts.Producer},
		Components: []snapshot.Component{{ID: RootID, Name: name, Type: "process", State: snapshot.StateAlive}},
		Resources:  make([]snapshot.Resource, 0, len(gs)),
		Cleanups:   []snapshot.Cleanup{},
	}
	groups := map[string]bool{}
	frames := map[Frame]string{}
	frame := func(f Frame) string {
		if v, ok := frames[f]; ok {
			return v
		}
		v := f.String()
		frames[f] = v
		return v
	}
	leaked := json.RawMessage("true")
	for i := range gs {
		g := &gs[i]
		cid, cname, ctype := "", "", ""
		if v, ok := g.Labels[opts.Label]; ok && opts.Label != "" {
			cid, cname, ctype = "label/"+safeid.Escape(opts.Label)+"="+safeid.Escape(v), v, "label "+opts.Label
		} else {
			p := Group(g)
			cid, cname, ctype = "package/"+safeid.Escape(p), p, "package"
		}
		if !groups[cid] {
			groups[cid] = true
			c := snapshot.Component{ID: cid, Name: cname, Type: ctype, Parent: RootID, State: snapshot.StateAlive}
			if ctype != "package" {
				c.Labels = map[string]string{opts.Label: cname}
			}
			s.Components = append(s.Components, c)
		}
		r := snapshot.Resource{
			ID: "goroutine/" + strconv.FormatInt(g.ID, 10), Type: snapshot.TypeThread, Owner: cid,
			Name: g.State, State: snapshot.StateActive, Running: g.Running(),
		}
		if g.ID == 0 {
			r.ID = "goroutine/#" + strconv.Itoa(i+1) // a profile gives no ids
		}
		if e := entry(g); e != "" {
			r.Name = e
		}
		if g.Wait > 0 && !opts.TakenAt.IsZero() {
			r.CreatedAt = s.TakenAt.Add(-g.Wait)
		}
		stack := make([]string, 0, len(g.Frames)+1)
		for _, f := range g.Frames {
			stack = append(stack, frame(f))
		}
		if g.CreatedBy != nil {
			stack = append(stack, frame(*g.CreatedBy))
		}
		r.CreatedBy = snapshot.NewStack(stack...)
		r.Metadata = snapshot.NewMetadata(metadata(g))
		if g.Leaked {
			r.Extra = map[string]json.RawMessage{LeakedField: leaked}
		}
		s.Resources = append(s.Resources, r)
	}
	return s
}

func metadata(g *Goroutine) json.RawMessage {
	b := []byte(`{"state":`)
	b = appendJSONString(b, g.State)
	if g.ID != 0 {
		b = append(b, `,"goroutine":`...)
		b = strconv.AppendInt(b, g.ID, 10)
	}
	if g.WaitText != "" {
		b = append(b, `,"wait":`...)
		b = appendJSONString(b, g.WaitText)
		b = append(b, `,"wait_seconds":`...)
		b = strconv.AppendInt(b, int64(g.Wait/time.Second), 10)
	}
	if g.Locked {
		b = append(b, `,"locked_to_thread":true`...)
	}
	if g.Creator != 0 {
		b = append(b, `,"creator":`...)
		b = strconv.AppendInt(b, g.Creator, 10)
	}
	if g.CreatedBy != nil {
		b = append(b, `,"created_by":`...)
		b = appendJSONString(b, g.CreatedBy.Func)
	}
	if g.Elided > 0 {
		b = append(b, `,"frames_elided":`...)
		b = strconv.AppendInt(b, int64(g.Elided), 10)
	}
	if len(g.Labels) > 0 {
		// Keys that differ only in invalid UTF-8 would be one key in JSON.
		safe := make(map[string]string, len(g.Labels))
		for k, v := range g.Labels {
			safe[safeid.Escape(k)] = v
		}
		l, _ := json.Marshal(safe)
		b = append(b, `,"labels":`...)
		b = append(b, l...)
	}
	return append(b, '}')
}

func appendJSONString(b []byte, s string) []byte {
	v, _ := json.Marshal(s)
	return append(b, v...)
}
