package metrics

import (
	"errors"
	"fmt"
	"sync"
)

// forwardMu serialises Forward calls, so the checks against chains hold.
var forwardMu sync.Mutex

// Forward makes every family of r, those defined now and those defined later, record
// into the family of the same definition in dst, defining it there: handles already
// handed out (package-level variables, bound series kept from With) are redirected, so
// their observations are exported by dst's handler and sent to dst's StatsD and
// Pushgateway from then on. Forward(nil, nil) makes them record into r again; a later
// Forward to another registry moves them there.
//
// The cost on the hot path is one atomic load per operation. What a handle recorded
// moves with it when r has no backend of its own (nothing was sent yet): counters and
// histograms recorded into r go to dst, and a gauge's value follows its handle both
// ways. Families for which skip returns true stay in r, and so does a family whose
// definition conflicts with one in dst; the error names each of them.
//
// A registry is either forwarded or a destination, never both: Forward returns an error
// rather than build a chain.
func (r *Registry) Forward(dst *Registry, skip func(name string) bool) error {
	if dst == r {
		dst = nil
	}
	forwardMu.Lock()
	defer forwardMu.Unlock()
	if dst != nil {
		dst.mu.Lock()
		chained := dst.fwd != nil
		dst.mu.Unlock()
		if chained {
			return errors.New("metrics: Forward: the destination registry is itself forwarded")
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if dst != nil && r.followers > 0 {
		return errors.New("metrics: Forward: the registry is the destination of another one")
	}
	if old := r.fwd; old != nil {
		old.mu.Lock()
		old.followers--
		old.mu.Unlock()
	}
	r.fwd, r.fwdSkip = dst, skip
	if dst != nil {
		dst.mu.Lock()
		dst.followers++
		dst.mu.Unlock()
	}
	var errs []error
	for _, f := range *r.list.Load() {
		errs = append(errs, r.forwardFamily(f))
	}
	return errors.Join(errs...)
}

// Names returns the names of the families defined in r, in definition order.
func (r *Registry) Names() []string {
	var names []string
	for _, f := range *r.list.Load() {
		names = append(names, f.name)
	}
	return names
}

// forwardFamily points f's handles at its counterpart in r.fwd (or back at f when r is
// not forwarded, f is skipped or cannot be defined there). r.mu is held.
func (r *Registry) forwardFamily(f *family) error {
	dst := r.fwd
	if dst != nil && r.fwdSkip != nil && r.fwdSkip(f.name) {
		dst = nil
	}
	// Values move out of r only while nothing of r's was sent anywhere: a backend of r's
	// own would already have reported them.
	own := r.statsd == nil && r.pusher == nil && r.graphite == nil
	o := Opts{Name: f.name, Help: f.help, Labels: f.labels, Buckets: f.buckets, SeriesLimit: f.ownLimit}
	var err error
	switch f.kind {
	case kindCounter:
		err = retarget(f, dst, own, dst.NewCounter, o)
	case kindGauge:
		err = retarget(f, dst, true, dst.NewGauge, o)
	case kindHistogram:
		err = retarget(f, dst, own, dst.NewHistogram, o)
	case kindTimer:
		err = retarget(f, dst, own, dst.NewTimer, o)
	case kindCounterFunc:
		if dst != nil {
			err = dst.CounterFunc(f.name, f.help, f.fn)
		}
	case kindGaugeFunc:
		if dst != nil {
			err = dst.GaugeFunc(f.name, f.help, f.fn)
		}
	}
	if err != nil {
		return fmt.Errorf("metrics: %q stays in the forwarded registry: %w", f.name, err)
	}
	return nil
}

// handle is what Forward needs of each metric kind.
type handle[T any] interface {
	*T
	redirect() *T        // where the handle records instead of itself (see Counter.to)
	swapTarget(to *T) *T // sets it, returning the previous one
	vecOf() *vec[T]
	moveTo(*T) // hands the recorded value over
}

// retarget points every handle of f (the family handle and each series, the overflow
// series included) at the matching handle of f's definition in dst, or back at itself
// when dst is nil or the definition fails there. move says whether what a series
// recorded itself goes along; a gauge's value always follows its handle.
func retarget[T any, P handle[T]](f *family, dst *Registry, move bool, define func(Opts) (*T, error), o Opts) error {
	fh := f.handle.(*T)
	src := P(fh).vecOf()
	var dv *vec[T]
	var err error
	if dst != nil {
		var h *T
		if h, err = define(o); err == nil {
			dv = P(h).vecOf()
			if len(f.labels) > 0 {
				// The family handle first: With rechecks it after creating a series, so
				// no series created from now on escapes the forwarding.
				P(fh).swapTarget(h)
			}
		}
	}
	if dv == nil && len(f.labels) > 0 {
		P(fh).swapTarget(fh) // unbound: every use is a misuse, counted in f
	}
	over := src.overflow.Load()
	for _, n := range src.series() {
		var to *T
		switch {
		case dv == nil:
		case n == over:
			to = &dv.overflowNode(false).val
		default:
			to = dv.with(n.values)
		}
		from := P(&n.val).swapTarget(to)
		switch {
		case from == to:
		case from == nil: // n recorded itself
			if move {
				P(&n.val).moveTo(to)
			}
		case f.kind == kindGauge:
			if to == nil {
				to = &n.val
			}
			P(from).moveTo(to)
		}
	}
	return err
}
