package registry

import (
	"context"
	"fmt"
	"sync"
)

// Scope tracks resources for one owner and releases all of them, in plan
// order, when closed: the RAII / context-manager pattern.
//
//	sc := reg.NewScope("thumbnail_tab")
//	defer sc.Close()
//	f, _ := os.Open(path)
//	sc.Track(f)
type Scope struct {
	r     *Registry
	owner string

	mu      sync.Mutex
	handles []*Handle
	closed  bool
}

// NewScope returns a scope whose resources are owned by component owner.
// The owner is checked at each Track.
func (r *Registry) NewScope(owner string) *Scope {
	return &Scope{r: r, owner: owner}
}

// Track tracks value as Registry.Track does, to be released by Close.
func (s *Scope) Track(value any, opts ...TrackOption) (*Handle, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("tracking in scope of %q: %w", s.owner, ErrScopeClosed)
	}
	var cfg trackConfig
	for _, o := range opts {
		if o != nil {
			o.applyTrack(&cfg)
		}
	}
	h, err := s.r.track(s.owner, value, &cfg)
	if err != nil {
		return nil, err
	}
	s.handles = append(s.handles, h)
	return h, nil
}

// Close releases every resource tracked through the scope and not yet
// released, in plan order (dependencies first, workers before files, the
// newest first), each bounded by its own timeout; it keeps going after a
// failure and returns every failure joined. Closing twice does nothing.
func (s *Scope) Close() error {
	return s.CloseContext(context.Background())
}

// CloseContext is Close bounded by ctx as well.
func (s *Scope) CloseContext(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	hs := s.handles
	s.handles = nil
	s.mu.Unlock()
	return s.r.releaseSet(ctx, hs)
}
