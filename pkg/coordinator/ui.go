package coordinator

import (
	"context"
	"errors"
)

// Object is a GUI object (a widget, a dialog, a model) that its toolkit
// deletes on its own thread: cleanup schedules the deletion.
type Object interface {
	// DeleteLater schedules the object's deletion by its toolkit.
	DeleteLater()
}

// Disconnecter is implemented by GUI objects whose signal connections
// must be cut before they are deleted, so no late signal reaches a
// half-destroyed view.
type Disconnecter interface {
	Disconnect()
}

// ReleaseObject runs the GUI object cleanup strategy: disconnect (when obj
// is a Disconnecter) → deleteLater.
func ReleaseObject(obj Object) {
	if d, ok := obj.(Disconnecter); ok {
		d.Disconnect()
	}
	obj.DeleteLater()
}

// UI is a UI coordinator: it tracks the GUI objects of one view and, on
// cleanup, disconnects them and schedules their deletion. The zero value
// is usable after Bind. A UI is safe for concurrent use.
type UI struct {
	Base
}

// NewUI registers component c in reg and returns a UI coordinator bound
// to it.
func NewUI(reg Registry, c ComponentSpec) (*UI, error) {
	return newBound[UI](reg, c)
}

// Bind registers component c in reg (type "coordinator" and label
// coordinator=ui unless c says otherwise) and binds u to it.
func (u *UI) Bind(reg Registry, c ComponentSpec) error {
	if u == nil {
		return ErrNotBound
	}
	return u.bind(reg, c, "ui")
}

// TrackObject tracks obj as a resource of u's component (type "qobject"
// unless r says otherwise). Unless r sets its own Cleanup, releasing it
// runs ReleaseObject.
func (u *UI) TrackObject(obj Object, r ResourceSpec) (Handle, error) {
	if u == nil {
		return nil, ErrNotBound
	}
	if obj == nil {
		return nil, errors.New("tracking GUI object: nil object")
	}
	return u.trackAs(obj, r, "qobject", func(context.Context) error {
		ReleaseObject(obj)
		return nil
	})
}
