package coordinator_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/rescoord/rescoord/pkg/coordinator"
)

// fakeObject records what cleanup did to a GUI object.
type fakeObject struct {
	mu    sync.Mutex
	calls []string
}

func (o *fakeObject) Disconnect() {
	o.mu.Lock()
	o.calls = append(o.calls, "disconnect")
	o.mu.Unlock()
}
func (o *fakeObject) DeleteLater() {
	o.mu.Lock()
	o.calls = append(o.calls, "deleteLater")
	o.mu.Unlock()
}

// plainObject has no signal connections to cut.
type plainObject struct{ deleted bool }

func (o *plainObject) DeleteLater() { o.deleted = true }

func TestUI_ReleaseDisconnectsThenDeletes(t *testing.T) {
	f := newFake()
	ui, err := coordinator.NewUI(f, coordinator.ComponentSpec{ID: "view"})
	if err != nil {
		t.Fatal(err)
	}
	dialog, label := &fakeObject{}, &plainObject{}
	if _, err := ui.TrackObject(dialog, coordinator.ResourceSpec{Name: "ProgressDialog"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ui.TrackObject(label, coordinator.ResourceSpec{Name: "StatusLabel"}); err != nil {
		t.Fatal(err)
	}
	if got := f.handles[0].spec.Type; got != "qobject" {
		t.Errorf("type %q, want qobject", got)
	}
	if err := ui.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := []string{"disconnect", "deleteLater"}; !slices.Equal(dialog.calls, want) {
		t.Errorf("dialog: %v, want %v", dialog.calls, want)
	}
	if !label.deleted {
		t.Error("label not deleted")
	}
}

func TestUI_NilObjectIsAnError(t *testing.T) {
	ui, _ := coordinator.NewUI(newFake(), coordinator.ComponentSpec{ID: "view"})
	if _, err := ui.TrackObject(nil, coordinator.ResourceSpec{}); err == nil {
		t.Error("no error")
	}
}
