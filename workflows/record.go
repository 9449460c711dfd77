package workflows

// The record a request carries (issue 14): what continue-as-new carries
// into the next run (Resume.Units) and what a Done request hands its grant
// (GrantRecord.Units) are one packed type, Units: every step's state, each
// fan-out item once (grouped by item key, so one broker's units across the
// steps sit side by side), the saga stack and the drift checks as indexes,
// not copies, the whole compressed. A grant keeps per item only what its
// compensations, its drift checks and the leak report need. Before
// handing over, the interpreter checks the encoded size against Temporal's
// payload limit and fails safe (rolls back with a clear message) instead of
// being terminated by the server with everything leaked.

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"fmt"
	"hash/adler32"
	"io"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/policy"
)

// recordChange guards the packed record: runs that continue as new, hand
// their record to a grant or continue a grant as new carry Units instead of
// the expanded Steps/Done lists, check its size first, and a grant's result
// is its compact progress.
const recordChange = "topoflow-packed-record"

// PayloadLimit is Temporal's default limit on one payload
// (limit.blobSize.error, 2 MiB; https://docs.temporal.io/cloud/limits#per-message-grpc-limit
// and the server's dynamicconfig BlobSizeLimitError): a continue-as-new or
// child workflow input over it gets the workflow terminated by the server.
const PayloadLimit = 2 * 1024 * 1024

// carryLimit is the most a request hands over in one input: the limit less
// a margin for the payload's own framing (a variable for tests).
var carryLimit = PayloadLimit - 64*1024

// Units is a record's steps, fan-out items, saga stack and drift checks,
// packed (see packedUnits) and compressed.
type Units struct {
	// Steps and Items count what is packed (for people reading the history).
	Steps int `json:"steps"`
	Items int `json:"items,omitempty"`
	// Z is the zlib-compressed JSON of the packed units.
	Z []byte `json:"z"`
}

// packedUnits is the uncompressed content of Units.
type packedUnits struct {
	// Steps are the steps' states in plan order, without their items.
	Steps []RecordStep `json:"steps"`
	// Rows are the fan-out items, one row per item key.
	Rows []packedRow `json:"rows,omitempty"`
	// Saga is the saga stack, oldest first: for each unit its step's
	// position and its item's index (-1: the step itself), each as the
	// difference from the unit before (so that runs compress).
	Saga []int `json:"saga,omitempty"`
	// Own holds, by position in the saga stack, the inputs, outputs and lock
	// keys of a unit whose own differ from its step's or item's (rare).
	Own map[int]packedOwn `json:"own,omitempty"`
	// Drift lists a grant's drift checks as step position, item index pairs
	// (differences, as Saga).
	Drift []int `json:"drift,omitempty"`
}

// packedRow is the items of every fan-out step that share one key.
type packedRow struct {
	K string `json:"k"`
	// V is the value of the row's first item.
	V any          `json:"v,omitempty"`
	U []packedItem `json:"u"`
}

// packedItem is one fan-out item of a row.
type packedItem struct {
	S     int    `json:"s"`
	I     int    `json:"i"`
	State string `json:"st"`
	// OwnV says V is this item's value (it differs from the row's).
	OwnV    bool           `json:"ov,omitempty"`
	V       any            `json:"v,omitempty"`
	Inputs  map[string]any `json:"in,omitempty"`
	Outputs plan.Outputs   `json:"out,omitempty"`
	Keys    []string       `json:"keys,omitempty"`
}

// packedOwn is a saga unit's own inputs, outputs and lock keys.
type packedOwn struct {
	Inputs  map[string]any `json:"in,omitempty"`
	Outputs plan.Outputs   `json:"out,omitempty"`
	Keys    []string       `json:"keys,omitempty"`
}

// RecordStep is one step's state in a record (the expanded form: Resume's
// and GrantRecord's Steps, and a packed record's steps without items).
type RecordStep struct {
	// ID is the step's ID (set in grant records).
	ID         string         `json:"id,omitempty"`
	State      string         `json:"state"`
	Attempts   int            `json:"attempts,omitempty"`
	Inputs     map[string]any `json:"inputs,omitempty"`
	Outputs    plan.Outputs   `json:"outputs,omitempty"`
	Overrides  map[string]any `json:"overrides,omitempty"`
	Keys       []string       `json:"keys,omitempty"`
	Started    time.Time      `json:"started,omitempty"`
	Ended      time.Time      `json:"ended,omitempty"`
	ItemsReady bool           `json:"itemsReady,omitempty"`
	Fanout     bool           `json:"fanout,omitempty"`
	Items      []RecordItem   `json:"items,omitempty"`
}

// RecordItem is one fan-out item of a RecordStep.
type RecordItem struct {
	// Index is the item's position in its list (grant records; a resumed
	// run's items are in list order).
	Index   int            `json:"index"`
	Key     string         `json:"key"`
	Value   any            `json:"value,omitempty"`
	State   string         `json:"state"`
	Inputs  map[string]any `json:"inputs,omitempty"`
	Outputs plan.Outputs   `json:"outputs,omitempty"`
	Keys    []string       `json:"keys,omitempty"`
}

// keepOf says what a packed record keeps of one step's (or each of its
// items') inputs, outputs and lock keys: all of them (the all* flags), only
// some fields (in, out), or none.
type keepOf struct {
	allIn, allOut, keys bool
	in, out             map[string]bool
}

// filter keeps the fields of m that all or fields says.
func filter[M ~map[string]any](m M, all bool, fields map[string]bool) M {
	if all || m == nil {
		return m
	}
	if len(fields) == 0 {
		return nil
	}
	out := M{}
	for k, v := range m {
		if fields[k] {
			out[k] = v
		}
	}
	return out
}

// keeps decides what a packed record keeps of each step, from the plan and
// the steps' states: everything of a step not finished and of gates; of a
// finished step, the inputs when a drift check runs it again, the input
// and output fields its compensation reads (and the outputs' identifying
// keys, for the leak report) and its lock keys when it has a compensation,
// and all its outputs when a compensation, or (continuing as new) an
// expression of a step not finished or the plan's outputs, reads them. An
// expression that reads steps without naming them keeps everything.
func (r *interp) keeps(forGrant bool) []keepOf {
	keep := make([]keepOf, len(r.steps))
	pos := map[string]int{}
	for i, sr := range r.steps {
		pos[sr.s.ID] = i
	}
	everything := func() []keepOf {
		for i := range keep {
			keep[i] = keepOf{allIn: true, allOut: true, keys: true}
		}
		return keep
	}
	readSteps := func(code string) bool { // false: reads steps it does not name
		refs, err := plan.ParseRefs(code)
		if err != nil {
			return false
		}
		named := len(refs.Steps) > 0
		for _, root := range refs.Roots {
			if root == plan.RootSteps && !named {
				return false
			}
		}
		for _, id := range refs.Steps {
			if j, ok := pos[id]; ok {
				keep[j].allOut = true
			}
		}
		return true
	}
	fields := func(code, root string, set *map[string]bool, all *bool) bool {
		f, a, err := plan.RootFields(code, root)
		if err != nil {
			return false
		}
		if a {
			*all = true
		}
		for _, k := range f {
			if *set == nil {
				*set = map[string]bool{}
			}
			(*set)[k] = true
		}
		return true
	}
	for i, sr := range r.steps {
		s := sr.s
		finished := sr.state == StepDone || sr.state == StepSkipped
		if !finished || isGate(s) {
			keep[i] = keepOf{allIn: true, allOut: true, keys: true}
			if forGrant {
				continue
			}
			var exprs []string
			for _, v := range s.Inputs {
				exprs = append(exprs, v.Expr)
			}
			exprs = append(exprs, s.When)
			exprs = append(exprs, s.Locks...)
			if s.ForEach != nil {
				exprs = append(exprs, s.ForEach.Items, s.ForEach.Key)
			}
			for _, code := range exprs {
				if code != "" && !readSteps(code) {
					return everything()
				}
			}
		}
		if !isGate(s) && (s.Wait != nil || !policy.Mutates(s.Action)) {
			keep[i].allIn = true // drift checks run it again with its inputs
		}
		if s.Compensation == nil {
			continue
		}
		keep[i].keys = true
		if forGrant {
			// A change by delta (change.go) compares each granted unit's
			// resolved inputs with the new plan's: a unit whose inputs
			// were not kept could only be replaced, never kept.
			keep[i].allIn = true
		}
		for _, v := range s.Compensation.Inputs {
			if !v.IsExpr() {
				continue
			}
			if !readSteps(v.Expr) || !fields(v.Expr, plan.RootInput, &keep[i].in, &keep[i].allIn) ||
				!fields(v.Expr, plan.RootOutput, &keep[i].out, &keep[i].allOut) {
				return everything()
			}
		}
	}
	if !forGrant {
		for _, v := range r.p.Outputs {
			if v.IsExpr() && !readSteps(v.Expr) {
				return everything()
			}
		}
	}
	if forGrant {
		// A grant runs steps of its plan again (a change by delta, a drift
		// repair: change.go), whose expressions read the outputs of the
		// steps they name: keep those, for every step and the outputs.
		for _, sr := range r.steps {
			s := sr.s
			exprs := []string{s.When}
			for _, v := range s.Inputs {
				exprs = append(exprs, v.Expr)
			}
			exprs = append(exprs, s.Locks...)
			if s.ForEach != nil {
				exprs = append(exprs, s.ForEach.Items, s.ForEach.Key)
			}
			for _, code := range exprs {
				if code != "" && !readSteps(code) {
					return everything()
				}
			}
		}
		for _, v := range r.p.Outputs {
			if v.IsExpr() && !readSteps(v.Expr) {
				return everything()
			}
		}
	}
	return keep
}

// keepIdentifying adds to k, for a step with a compensation, the outputs'
// keys the leak report names a resource by (describeResource), or all
// when there are none.
func keepIdentifying(k *keepOf, out plan.Outputs) keepOf {
	if k.allOut || out == nil || !k.keys {
		return *k
	}
	kk := *k
	kk.out = map[string]bool{}
	for f := range k.out {
		kk.out[f] = true
	}
	n := 0
	for f := range out {
		if identifying(f) {
			kk.out[f] = true
			n++
		}
	}
	if n == 0 {
		kk.allOut = true
	}
	return kk
}

// identifying reports whether describeResource names a resource by key k.
func identifying(k string) bool {
	lk := strings.ToLower(k)
	return lk == "id" || strings.HasSuffix(lk, "id") || strings.HasSuffix(lk, "ids") || strings.HasSuffix(lk, "arn") || lk == "name"
}

// packUnits packs the run's steps, items and saga stack (and a grant's
// drift checks). For a grant, items keep only what grantKeeps says.
func (r *interp) packUnits(forGrant bool, drift []GrantUnit) (Units, error) {
	pos := make(map[*stepRun]int, len(r.steps))
	for i, sr := range r.steps {
		pos[sr] = i
	}
	keep := r.keeps(forGrant)
	pu := packedUnits{}
	rows := map[string]int{}
	items := 0
	for i, sr := range r.steps {
		k := keepIdentifying(&keep[i], sr.outputs)
		st := RecordStep{State: sr.state, Attempts: sr.attempts, Inputs: filter(sr.inputs, k.allIn, k.in),
			Outputs: filter(sr.outputs, k.allOut, k.out), Overrides: sr.overrides, Started: sr.started, Ended: sr.ended,
			ItemsReady: sr.itemsReady, Fanout: sr.fanout}
		if k.keys {
			st.Keys = sr.keys
		}
		if forGrant {
			st.ID = sr.s.ID
		} else if st.State != StepDone && st.State != StepSkipped {
			st.State = StepPending // a paused fan-out: its pending items run in the next run
		}
		pu.Steps = append(pu.Steps, st)
		for _, it := range sr.items {
			items++
			k := keepIdentifying(&keep[i], it.outputs)
			pi := packedItem{S: i, I: it.index, State: it.state, Inputs: filter(it.inputs, k.allIn, k.in), Outputs: filter(it.outputs, k.allOut, k.out)}
			if k.keys {
				pi.Keys = it.keys
			}
			ri, ok := rows[it.key]
			if !ok {
				ri = len(pu.Rows)
				rows[it.key] = ri
				pu.Rows = append(pu.Rows, packedRow{K: it.key, V: it.value})
			} else if !reflect.DeepEqual(pu.Rows[ri].V, it.value) {
				pi.OwnV, pi.V = true, it.value
			}
			pu.Rows[ri].U = append(pu.Rows[ri].U, pi)
		}
	}
	ds, di := 0, 0 // the unit before, for the differences
	for n, c := range r.done {
		item := -1
		inputs, outputs, keys := c.step.inputs, c.step.outputs, c.step.keys
		if c.item != nil {
			item = c.item.index
			inputs, outputs, keys = c.item.inputs, c.item.outputs, c.item.keys
		}
		pu.Saga = append(pu.Saga, pos[c.step]-ds, item-di)
		ds, di = pos[c.step], item
		if c.item != nil && forGrant {
			continue // the item's own (kept or dropped by grantKeeps) is what its compensation reads
		}
		if !reflect.DeepEqual(c.inputs, inputs) || !reflect.DeepEqual(c.outputs, outputs) || !reflect.DeepEqual(c.keys, keys) {
			if pu.Own == nil {
				pu.Own = map[int]packedOwn{}
			}
			pu.Own[n] = packedOwn{Inputs: c.inputs, Outputs: c.outputs, Keys: c.keys}
		}
	}
	ds, di = 0, 0
	for _, u := range drift {
		item := -1
		if u.Item != nil {
			item = *u.Item
		}
		if sr, ok := r.byID[u.Step]; ok {
			pu.Drift = append(pu.Drift, pos[sr]-ds, item-di)
			ds, di = pos[sr], item
		}
	}
	raw, err := json.Marshal(pu)
	if err != nil {
		return Units{}, fmt.Errorf("encode the record: %w", err)
	}
	z, err := compress(raw, r.packLevel(len(raw)))
	if err != nil {
		return Units{}, err
	}
	return Units{Steps: len(pu.Steps), Items: items, Z: z}, nil
}

// zlibBest keeps BestCompression zlib writers between records: a new
// writer allocates and clears about 1 MB of tables, most of the cost of
// packing a small record (issue 14: a Done request packs once, a replay
// again); a reset writer gives the same bytes. Not a sync.Pool: a GC
// empties those, and a worker collects every few workflow tasks.
var zlibBest = writerCache{level: zlib.BestCompression, keep: 2}

// writerCache is a few zlib writers of one level.
type writerCache struct {
	mu    sync.Mutex
	level int
	keep  int
	free  []*zlib.Writer
}

func (c *writerCache) get(w io.Writer) *zlib.Writer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.free); n > 0 {
		zw := c.free[n-1]
		c.free = c.free[:n-1]
		zw.Reset(w)
		return zw
	}
	zw, _ := zlib.NewWriterLevel(w, c.level)
	return zw
}

func (c *writerCache) put(zw *zlib.Writer) {
	zw.Reset(nil)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.free) < c.keep {
		c.free = append(c.free, zw)
	}
}

// levelStored is the zlib "level" of a record stored without compression
// (storeZlib).
const levelStored = zlib.NoCompression

// storedRecord is the most raw JSON a run that took changeBundle2 stores
// without compression (bigger records, and every record of older runs, at
// BestCompression): a 50-step request's record is about 13 KB, and the
// compression cost more than the rest of its packing. The level changes
// only the size, and so whether a record fits Temporal's payload limit;
// 64 KiB is far below it. Never change it or the levels: a replay must
// measure the same.
const storedRecord = 64 << 10

// packLevel is the zlib level of a record of n raw bytes.
func (r *interp) packLevel(n int) int {
	if n <= storedRecord && bundleLevel(r.root) >= 2 {
		return levelStored
	}
	return zlib.BestCompression
}

// compress is raw as a zlib stream: stored (levelStored) or compressed at
// BestCompression.
func compress(raw []byte, level int) ([]byte, error) {
	switch level {
	case levelStored:
		return storeZlib(raw), nil
	case zlib.BestCompression:
	default:
		return nil, fmt.Errorf("compress the record: no zlib writers of level %d", level)
	}
	var buf bytes.Buffer
	zw := zlibBest.get(&buf)
	if _, err := zw.Write(raw); err != nil {
		return nil, fmt.Errorf("compress the record: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress the record: %w", err)
	}
	zlibBest.put(zw)
	return buf.Bytes(), nil
}

// storeZlib is raw as a zlib stream of stored deflate blocks (RFC 1950
// header and Adler-32 trailer around RFC 1951 section 3.2.4 blocks of at
// most 65,535 bytes), without compress/flate's tables: what
// zlib.NewReader reads like any other.
func storeZlib(raw []byte) []byte {
	const most = 0xffff
	sum := adler32.Checksum(raw)
	out := make([]byte, 0, 2+len(raw)+5*(len(raw)/most+1)+4)
	out = append(out, 0x78, 0x01) // deflate, 32 KiB window; FCHECK makes 0x7801 a multiple of 31
	for first := true; first || len(raw) > 0; first = false {
		n := min(len(raw), most)
		final := byte(0)
		if n == len(raw) {
			final = 1 // BFINAL, BTYPE 00 (stored)
		}
		out = append(out, final, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
		out = append(out, raw[:n]...)
		raw = raw[n:]
	}
	return append(out, byte(sum>>24), byte(sum>>16), byte(sum>>8), byte(sum))
}

// unpack decodes packed units.
func (u Units) unpack() (packedUnits, error) {
	var pu packedUnits
	zr, err := zlib.NewReader(bytes.NewReader(u.Z))
	if err != nil {
		return pu, fmt.Errorf("decompress the record: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return pu, fmt.Errorf("decompress the record: %w", err)
	}
	if err := json.Unmarshal(raw, &pu); err != nil {
		return pu, fmt.Errorf("decode the record: %w", err)
	}
	return pu, nil
}

// restoreUnits applies packed units to a new run or a grant: the steps'
// states, their items, the saga stack; it returns the drift checks.
// forResume marks unfinished steps as finished=false (a resumed request);
// a grant's fan-out steps have their items ready.
func (r *interp) restoreUnits(u Units, forGrant bool) ([]GrantUnit, error) {
	pu, err := u.unpack()
	if err != nil {
		return nil, err
	}
	if len(pu.Steps) != len(r.steps) {
		return nil, fmt.Errorf("the record has %d steps, the plan %d", len(pu.Steps), len(r.steps))
	}
	for i, st := range pu.Steps {
		sr := r.steps[i]
		if forGrant && st.ID != sr.s.ID {
			return nil, fmt.Errorf("the record's step %d is %q, the plan's %q", i, st.ID, sr.s.ID)
		}
		sr.state, sr.attempts, sr.outputs, sr.inputs, sr.overrides, sr.keys = st.State, st.Attempts, st.Outputs, st.Inputs, st.Overrides, st.Keys
		sr.started, sr.ended, sr.itemsReady = st.Started, st.Ended, st.ItemsReady
		if forGrant {
			sr.itemsReady = sr.fanout
		} else {
			sr.finished = st.State == StepDone || st.State == StepSkipped
		}
	}
	for _, row := range pu.Rows {
		for _, pi := range row.U {
			if pi.S < 0 || pi.S >= len(r.steps) {
				return nil, fmt.Errorf("the record names step %d, the plan has %d", pi.S, len(r.steps))
			}
			v := row.V
			if pi.OwnV {
				v = pi.V
			}
			sr := r.steps[pi.S]
			sr.items = append(sr.items, &itemRun{index: pi.I, key: row.K, value: v, state: pi.State, inputs: pi.Inputs, outputs: pi.Outputs, keys: pi.Keys})
		}
	}
	byIndex := make([]map[int]*itemRun, len(r.steps))
	for i, sr := range r.steps {
		sort.SliceStable(sr.items, func(a, b int) bool { return sr.items[a].index < sr.items[b].index })
		byIndex[i] = make(map[int]*itemRun, len(sr.items))
		for _, it := range sr.items {
			byIndex[i][it.index] = it
		}
	}
	unit := func(s, item int) (*stepRun, *itemRun, error) {
		if s < 0 || s >= len(r.steps) {
			return nil, nil, fmt.Errorf("the record names step %d, the plan has %d", s, len(r.steps))
		}
		if item < 0 {
			return r.steps[s], nil, nil
		}
		it := byIndex[s][item]
		if it == nil {
			return nil, nil, fmt.Errorf("the record names item %d of step %q, which it does not list", item, r.steps[s].s.ID)
		}
		return r.steps[s], it, nil
	}
	ds, di := 0, 0
	for n := 0; n+1 < len(pu.Saga); n += 2 {
		ds, di = ds+pu.Saga[n], di+pu.Saga[n+1]
		sr, it, err := unit(ds, di)
		if err != nil {
			return nil, err
		}
		c := completion{step: sr, inputs: sr.inputs, outputs: sr.outputs, keys: sr.keys}
		if it != nil {
			c = completion{step: sr, item: it, inputs: it.inputs, outputs: it.outputs, keys: it.keys}
		}
		if own, ok := pu.Own[n/2]; ok {
			c.inputs, c.outputs, c.keys = own.Inputs, own.Outputs, own.Keys
		}
		r.done = append(r.done, c)
	}
	var drift []GrantUnit
	ds, di = 0, 0
	for n := 0; n+1 < len(pu.Drift); n += 2 {
		ds, di = ds+pu.Drift[n], di+pu.Drift[n+1]
		sr, it, err := unit(ds, di)
		if err != nil {
			return nil, err
		}
		g := GrantUnit{Step: sr.s.ID}
		if it != nil {
			i := it.index
			g.Item = &i
		}
		drift = append(drift, g)
	}
	return drift, nil
}

// payloadSize is the encoded size of v as one payload.
func payloadSize(v any) (int, error) {
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	if err != nil {
		return 0, err
	}
	return p.Size(), nil
}

// tooBig says why a payload cannot be handed over ("" when it fits).
func tooBig(what string, v any) string {
	_, msg := encodeFitting(what, v)
	return msg
}

// encodeFitting encodes v as one payload and says, as tooBig, why it
// cannot be handed over ("" and the payload when it fits): a caller that
// hands v over can pass the payload on as a converter.RawValue instead of
// having the SDK encode v again (the same default converter, so the same
// bytes).
func encodeFitting(what string, v any) (*commonpb.Payload, string) {
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	if err != nil {
		return nil, fmt.Sprintf("%s cannot be encoded: %v", what, err)
	}
	if n := p.Size(); n > carryLimit {
		return nil, fmt.Sprintf("%s is %d bytes, over Temporal's %d-byte payload limit (the server would terminate the request and leak what it created)", what, n, PayloadLimit)
	}
	return p, ""
}

// recordV reports whether this run packs its records (recordChange).
func (r *interp) recordV() bool {
	if r.packed == nil {
		v := changeVersion(r.root, recordChange, 1) >= 1
		r.packed = &v
	}
	return *r.packed
}
