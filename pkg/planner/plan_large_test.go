package planner

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/rescoord/rescoord/pkg/snapshot"
)

// largeSnapshot builds a registry shaped like a big desktop app: one
// component per ten resources in a random tree (10% destroyed), 1% of the
// resources owned by a missing component, 15% released, a fifth depending
// on one or two older resources, and a cleanup for every third component.
func largeSnapshot(resources int) *snapshot.Snapshot {
	r := rand.New(rand.NewPCG(1, uint64(resources)))
	base := time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC)
	nc := max(resources/10, 1)
	s := &snapshot.Snapshot{Format: snapshot.FormatV1, TakenAt: base.Add(time.Hour),
		Components: make([]snapshot.Component, nc), Resources: make([]snapshot.Resource, resources)}
	for i := range s.Components {
		c := &s.Components[i]
		c.ID = "comp-" + strconv.Itoa(i)
		c.Type = "controller"
		c.State = snapshot.StateAlive
		if r.IntN(10) == 0 {
			c.State = snapshot.StateDestroyed
		}
		c.CreatedAt = base.Add(time.Duration(i) * time.Millisecond)
		if i > 0 && r.IntN(50) > 0 {
			c.Parent = s.Components[r.IntN(i)].ID
		}
	}
	for i := range s.Resources {
		res := &s.Resources[i]
		res.ID = "r-" + strconv.Itoa(i)
		res.Type = genTypes[r.IntN(len(genTypes))]
		res.Owner = s.Components[r.IntN(nc)].ID
		if r.IntN(100) == 0 {
			res.Owner = "gone-" + strconv.Itoa(r.IntN(100))
		}
		res.State = snapshot.StateActive
		if r.IntN(100) < 15 {
			res.State = snapshot.StateReleased
		}
		res.CreatedAt = base.Add(time.Duration(r.IntN(3_600_000)) * time.Millisecond)
		if i > 0 && r.IntN(5) == 0 {
			for range 1 + r.IntN(2) {
				res.DependsOn = append(res.DependsOn, "r-"+strconv.Itoa(r.IntN(i)))
			}
		}
	}
	for i := 0; i < nc; i += 3 {
		n := int64(1000 + r.IntN(4000))
		s.Cleanups = append(s.Cleanups, snapshot.Cleanup{ID: "cb-" + strconv.Itoa(i), Component: s.Components[i].ID, Priority: int64(r.IntN(3) * 10), TimeoutMS: &n})
	}
	return s
}

func TestLargeSnapshotPlans(t *testing.T) {
	ix, err := snapshot.NewIndex(largeSnapshot(20_000))
	if err != nil {
		t.Fatal(err)
	}
	p := mustPlan(t, ix, Scope{})
	checkHardConstraints(t, "large", ix, Scope{}, p)
}
