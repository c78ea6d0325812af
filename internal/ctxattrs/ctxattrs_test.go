package ctxattrs

import (
	"context"
	"log/slog"
	"testing"
)

// ownScope is a context type of its own that carries a List, as the middleware's
// per-request state does.
type ownScope struct {
	context.Context
	l List
}

func (s *ownScope) Value(k any) any {
	if IsKey(k) {
		return &s.l
	}
	return s.Context.Value(k)
}

func TestListsAndOwnScopes(t *testing.T) {
	ctx := With(context.Background(), slog.String("a", "1"))
	s := &ownScope{Context: ctx}
	s.l.Init(From(ctx), slog.String("b", "2"), slog.String("a", "3"))
	inner := With(s, slog.String("c", "4"), slog.String("d", "5"), slog.String("e", "6"))
	for _, tc := range []struct {
		ctx  context.Context
		key  string
		want string
		n    int
	}{
		{ctx, "a", "1", 1},
		{s, "a", "3", 3},
		{s, "b", "2", 3},
		{inner, "e", "6", 6},
		{inner, "a", "3", 6},
	} {
		if got, ok := Lookup(tc.ctx, tc.key); !ok || got != tc.want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", tc.key, got, ok, tc.want)
		}
		if n := len(From(tc.ctx)); n != tc.n {
			t.Errorf("len(From) = %d, want %d", n, tc.n)
		}
	}
	var none context.Context // From tolerates a nil context, as logging's handler may pass one
	if From(none) != nil || From(context.Background()) != nil {
		t.Error("From of a context without attributes is not nil")
	}
	if IsKey("x") || IsKey(struct{}{}) {
		t.Error("IsKey accepted another key")
	}
}
