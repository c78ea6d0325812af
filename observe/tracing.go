package observe

import (
	"context"

	"github.com/vigil-go/vigil/tracing"
)

func (o *Observer) initTracing(ctx context.Context) error {
	cfg := o.cfg.Tracing
	if cfg.Logger == nil {
		cfg.Logger = o.base
	}
	p, err := tracing.New(ctx, cfg)
	if err != nil {
		p, _ = tracing.New(ctx, tracing.Config{Exporter: "none", Disabled: true})
		o.tracer = p
		return err
	}
	o.tracer = p
	o.addPart("tracing", p.Shutdown)
	return nil
}
