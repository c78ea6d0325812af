package observe

import (
	"context"

	verrors "github.com/vigil-go/vigil/errors"
)

func (o *Observer) initErrors(context.Context) error {
	cfg := o.cfg.Errors
	if cfg.Logger == nil {
		cfg.Logger = o.base
	}
	r, err := verrors.New(cfg)
	if err != nil {
		r, _ = verrors.New(verrors.Config{Logger: o.base})
		o.reporter = r
		return err
	}
	o.reporter = r
	o.bridges = append(o.bridges, r.Handler())
	o.addPart("errors", r.Shutdown)
	return nil
}
