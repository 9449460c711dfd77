package cloudsim

// The twin's durable state (cmd/cloudsim -state DIR): the inventory, the
// fault rules, every provider's own records (registered with
// [Sim.RegisterState]) and the pending state-machine transitions (scheduled
// with [Transition], their deadlines kept as wall-clock times) are written to
// DIR/state.json atomically (a temporary file, fsync, rename, fsync of the
// directory) after every request that changed them, before the response is
// sent, and after every transition. A twin killed with SIGKILL and started
// again with the same directory resumes where it was: the same inventory,
// and every pending transition completing at its deadline (at once when
// the deadline passed while it was down). A kill between the cloud's
// acceptance of a call and its answer is a lost response: the change is
// kept, the caller never hears of it, as the real clouds can also do.
//
// Requests and transitions hold the state's read lock while they run (a
// request lets it go while an injected latency delays it); a save takes the
// write lock for the time of one encoding, so a saved state is always
// between whole requests and whole transitions.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// StateFile is the file of the state directory that holds the twin's state.
const StateFile = "state.json"

// stateVersion is the format of StateFile.
const stateVersion = 1

// savedState is StateFile's content.
type savedState struct {
	Version     int                        `json:"version"`
	Inventory   *inventory.Dump            `json:"inventory"`
	Faults      faults.State               `json:"faults"`
	Providers   map[string]json.RawMessage `json:"providers"`
	Transitions []*pendingTransition       `json:"transitions"`
	NextID      uint64                     `json:"nextTransition"`
}

// pendingTransition is a scheduled state-machine step: the registered
// transition Name runs with Args at Due.
type pendingTransition struct {
	ID   uint64          `json:"id"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args"`
	Due  time.Time       `json:"due"`
}

type statePart struct {
	save    func() (any, error)
	restore func(json.RawMessage) error
}

// durable is the Sim's durability machinery (the zero value: none).
type durable struct {
	dir string // "" = in memory only

	// held is read-locked by requests and transitions, write-locked by a save.
	held sync.RWMutex
	// saveMu serialises saves; lastSaved is the last state written.
	saveMu    sync.Mutex
	lastSaved []byte
	killed    bool
	stopped   atomic.Bool // no transition is scheduled or run any more

	tmu         sync.Mutex
	transitions map[string]func(json.RawMessage)
	pending     map[uint64]*pendingTransition
	timers      map[uint64]*time.Timer
	nextID      uint64

	pmu   sync.Mutex
	parts map[string]statePart
}

func (d *durable) init() {
	d.transitions = map[string]func(json.RawMessage){}
	d.pending = map[uint64]*pendingTransition{}
	d.timers = map[uint64]*time.Timer{}
	d.parts = map[string]statePart{}
}

// heldKey marks a request context whose request holds the state's read lock.
type heldKey struct{}

// HandleTransition registers a named state-machine transition. Providers
// register theirs when mounted; [Sim.After] schedules them.
func (s *Sim) HandleTransition(name string, fn func(args json.RawMessage)) {
	s.st.tmu.Lock()
	defer s.st.tmu.Unlock()
	if _, dup := s.st.transitions[name]; dup {
		panic(fmt.Sprintf("cloudsim: transition %q registered twice", name))
	}
	s.st.transitions[name] = fn
}

// After schedules the registered transition name to run with args (encoded
// as JSON) after d, immediately when d <= 0, in the background. A
// transition whose object is gone meanwhile must do nothing.
func (s *Sim) After(d time.Duration, name string, args any) {
	raw, err := json.Marshal(args)
	if err != nil {
		panic(fmt.Sprintf("cloudsim: transition %s: encode args: %v", name, err))
	}
	s.st.tmu.Lock()
	defer s.st.tmu.Unlock()
	if s.st.stopped.Load() {
		return
	}
	if _, ok := s.st.transitions[name]; !ok {
		panic(fmt.Sprintf("cloudsim: transition %q is not registered", name))
	}
	s.st.nextID++
	p := &pendingTransition{ID: s.st.nextID, Name: name, Args: raw, Due: time.Now().Add(d)}
	s.scheduleLocked(p)
}

func (s *Sim) scheduleLocked(p *pendingTransition) {
	s.st.pending[p.ID] = p
	id := p.ID
	s.st.timers[id] = time.AfterFunc(max(time.Until(p.Due), 0), func() { s.fire(id) })
}

// Transition registers a transition with typed arguments and returns the
// function that schedules it.
func Transition[T any](s *Sim, name string, fn func(T)) func(d time.Duration, args T) {
	s.HandleTransition(name, func(raw json.RawMessage) {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			slog.Error("cloudsim: transition arguments", "transition", name, "err", err)
			return
		}
		fn(v)
	})
	return func(d time.Duration, args T) { s.After(d, name, args) }
}

func (s *Sim) fire(id uint64) {
	s.st.tmu.Lock()
	p := s.st.pending[id]
	var fn func(json.RawMessage)
	if p != nil {
		fn = s.st.transitions[p.Name]
	}
	s.st.tmu.Unlock()
	if p == nil || fn == nil || s.st.stopped.Load() {
		return
	}
	s.st.held.RLock()
	fn(p.Args)
	s.st.tmu.Lock()
	delete(s.st.pending, id)
	delete(s.st.timers, id)
	s.st.tmu.Unlock()
	s.st.held.RUnlock()
	if err := s.Persist(); err != nil {
		slog.Error("cloudsim: save state after a transition", "transition", p.Name, "err", err)
	}
}

// RegisterState adds a provider's own records (what lives outside the
// inventory: operations, sessions, change records) to the durable state:
// save returns them as JSON-encodable data, restore takes them back.
func (s *Sim) RegisterState(name string, save func() (any, error), restore func(json.RawMessage) error) {
	s.st.pmu.Lock()
	defer s.st.pmu.Unlock()
	if _, dup := s.st.parts[name]; dup {
		panic(fmt.Sprintf("cloudsim: state %q registered twice", name))
	}
	s.st.parts[name] = statePart{save: save, restore: restore}
}

// StateDir is the state directory ("" when the twin keeps its state in memory only).
func (s *Sim) StateDir() string { return s.st.dir }

// UseStateDir makes the twin durable in dir (created if missing): when dir
// holds a saved state, it is restored (the world must still be empty) and
// restored is true; otherwise the caller seeds the world and calls Persist.
func (s *Sim) UseStateDir(dir string) (restored bool, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("cloudsim: state directory: %w", err)
	}
	s.st.dir = dir
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cloudsim: read state: %w", err)
	}
	if err := s.restore(b); err != nil {
		return false, fmt.Errorf("cloudsim: restore %s: %w", filepath.Join(dir, StateFile), err)
	}
	s.st.saveMu.Lock()
	s.st.lastSaved = b
	s.st.saveMu.Unlock()
	return true, nil
}

func (s *Sim) restore(b []byte) error {
	var st savedState
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	if st.Version != stateVersion {
		return fmt.Errorf("state version %d, this twin reads %d", st.Version, stateVersion)
	}
	if st.Inventory != nil {
		if err := s.Inventory.Restore(st.Inventory); err != nil {
			return err
		}
	}
	s.Faults.Restore(st.Faults)
	s.st.pmu.Lock()
	parts := s.st.parts
	s.st.pmu.Unlock()
	for name, raw := range st.Providers {
		p, ok := parts[name]
		if !ok {
			return fmt.Errorf("state of %q: no such provider state in this twin", name)
		}
		if err := p.restore(raw); err != nil {
			return fmt.Errorf("state of %s: %w", name, err)
		}
	}
	s.st.tmu.Lock()
	defer s.st.tmu.Unlock()
	s.st.nextID = st.NextID
	for _, p := range st.Transitions {
		if _, ok := s.st.transitions[p.Name]; !ok {
			return fmt.Errorf("pending transition %q: not registered in this twin", p.Name)
		}
		s.scheduleLocked(p)
	}
	return nil
}

// encode returns the whole state as StateFile's content.
func (s *Sim) encode() ([]byte, error) {
	inv, err := s.Inventory.Dump()
	if err != nil {
		return nil, err
	}
	st := savedState{Version: stateVersion, Inventory: inv, Faults: s.Faults.State(), Providers: map[string]json.RawMessage{}}
	s.st.pmu.Lock()
	parts := s.st.parts
	s.st.pmu.Unlock()
	for name, p := range parts {
		v, err := p.save()
		if err != nil {
			return nil, fmt.Errorf("state of %s: %w", name, err)
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("state of %s: %w", name, err)
		}
		st.Providers[name] = raw
	}
	s.st.tmu.Lock()
	for _, p := range s.st.pending {
		st.Transitions = append(st.Transitions, p)
	}
	st.NextID = s.st.nextID
	s.st.tmu.Unlock()
	sort.Slice(st.Transitions, func(i, j int) bool { return st.Transitions[i].ID < st.Transitions[j].ID })
	return json.Marshal(st)
}

// Persist writes the state to the state directory when it changed since
// the last write (a no-op without a state directory).
func (s *Sim) Persist() error {
	if s.st.dir == "" {
		return nil
	}
	s.st.saveMu.Lock()
	defer s.st.saveMu.Unlock()
	if s.st.killed {
		return nil
	}
	s.st.held.Lock()
	b, err := s.encode()
	s.st.held.Unlock()
	if err != nil {
		return fmt.Errorf("cloudsim: save state: %w", err)
	}
	if bytes.Equal(b, s.st.lastSaved) {
		return nil
	}
	if err := writeAtomic(s.st.dir, StateFile, b); err != nil {
		return fmt.Errorf("cloudsim: save state: %w", err)
	}
	s.st.lastSaved = b
	return nil
}

// writeAtomic replaces dir/name by data: a temporary file, fsync, rename,
// fsync of the directory.
func writeAtomic(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, name+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Kill stops the twin as SIGKILL would (tests): nothing is saved any more,
// pending transitions stop, the listeners, brokers and forwarders close.
func (s *Sim) Kill() {
	s.stopDurable()
	if s.srv != nil {
		_ = s.srv.Close()
	}
	if s.adminSrv != nil {
		_ = s.adminSrv.Close()
	}
	s.SOCKS.Close()
	s.Net.Close()
}

// stopDurable stops saving and every pending transition.
func (s *Sim) stopDurable() {
	s.st.saveMu.Lock()
	s.st.killed = true
	s.st.saveMu.Unlock()
	s.st.tmu.Lock()
	s.st.stopped.Store(true)
	for id, t := range s.st.timers {
		t.Stop()
		delete(s.st.timers, id)
	}
	s.st.tmu.Unlock()
}

// sleepHeld is the fault injector's sleep: a request lets its hold on the
// state go while an injected latency or timeout delays it.
func (s *Sim) sleepHeld(ctx context.Context, d time.Duration) error {
	if ctx.Value(heldKey{}) != nil {
		s.st.held.RUnlock()
		defer s.st.held.RLock()
	}
	return faults.Sleep(ctx, d)
}

// Unheld serves h without the hold on the state that every request takes
// with a state directory: for a handler that is a client of the twin's own
// APIs (the EMQX console stand-in calls Alibaba's and Tencent's APIs with
// EMQX's keys), whose inner requests take the hold and are saved
// themselves. Held across them, a save waiting for the hold would block
// the inner requests (a waiting sync.RWMutex writer blocks new readers)
// while the handler waits for them: the twin would hang. What h changes
// directly is saved after it, as for any request.
func (s *Sim) Unheld(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Value(heldKey{}) != nil {
			s.st.held.RUnlock()
			defer s.st.held.RLock()
			r = r.WithContext(context.WithValue(r.Context(), heldKey{}, nil))
		}
		h.ServeHTTP(w, r)
	})
}

// durably serves h so that, with a state directory, what a request changed
// is saved before its response is sent (the response is buffered).
// admin says whether a request is the admin API's (whose reads are not saved).
func (s *Sim) durably(h http.Handler, admin func(*http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.st.dir == "" {
			h.ServeHTTP(w, r)
			return
		}
		rec := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
		// A handler that aborts the response (a lost response,
		// http.ErrAbortHandler) still had its effect: saved, then aborted.
		aborted := func() (v any) {
			s.st.held.RLock()
			defer s.st.held.RUnlock()
			defer func() { v = recover() }()
			h.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), heldKey{}, true)))
			return nil
		}()
		if aborted != nil {
			if err := s.Persist(); err != nil {
				slog.Error("cloudsim: save state", "method", r.Method, "path", r.URL.Path, "err", err)
			}
			panic(aborted)
		}
		// The admin API's reads change nothing; every other request may
		// (AWS's query APIs read with POST, a fault rule counts its hits).
		if !(r.Method == http.MethodGet && admin(r)) {
			if err := s.Persist(); err != nil {
				slog.Error("cloudsim: save state", "method", r.Method, "path", r.URL.Path, "err", err)
				http.Error(w, "cloudsim: the state could not be saved", http.StatusInternalServerError)
				return
			}
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
	})
}

// bufferedResponse holds a response until the state is saved.
type bufferedResponse struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if !b.wrote {
		b.status, b.wrote = code, true
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.wrote = true
	return b.body.Write(p)
}
