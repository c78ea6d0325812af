package routers

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/mux"
	"github.com/labstack/echo/v4"

	"github.com/vigil-go/vigil/middleware"
)

// gorillaRoute reads gorilla/mux's match: the template of the route the router attached
// to the request ("" outside the router, where none is attached).
func gorillaRoute(r *http.Request) string {
	if rt := mux.CurrentRoute(r); rt != nil {
		if t, err := rt.GetPathTemplate(); err == nil {
			return t
		}
	}
	return ""
}

// gorilla/mux attaches its match to a copy of the request, and runs r.Use middlewares
// only on a match: from outside the route must be published from inside, and from
// inside alone the router's 404 and 405 handlers must be wrapped too.
func TestGorilla(t *testing.T) {
	newRouter := func(use ...mux.MiddlewareFunc) *mux.Router {
		r := mux.NewRouter()
		r.Use(use...)
		ok := func(w http.ResponseWriter, r *http.Request) {}
		r.HandleFunc("/orders/{id}", ok).Methods("GET")
		api := r.PathPrefix("/api").Subrouter()
		api.HandleFunc("/users/{id:[0-9]+}", ok).Methods("GET")
		return r
	}
	routed := []routeCase{
		{"GET", "/orders/7", "/orders/{id}", 200},
		{"GET", "/api/users/3", "/api/users/{id:[0-9]+}", 200},
		{"GET", "/nothing", middleware.Unmatched, 404},
		{"GET", "/api/users/x", middleware.Unmatched, 404},
		{"POST", "/orders/7", middleware.Unmatched, 405},
	}
	methodNotAllowed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusMethodNotAllowed)
	})
	for _, tt := range []struct {
		name  string
		build func(h *middleware.HTTP) http.Handler
		cases []routeCase
	}{
		{"outside, RouteFrom in Use", func(h *middleware.HTTP) http.Handler {
			return h.Handler(newRouter(middleware.RouteFrom(gorillaRoute)))
		}, routed},
		{"inside, Use and the 404/405 handlers", func(h *middleware.HTTP) http.Handler {
			r := newRouter(h.Handler)
			r.NotFoundHandler = h.Handler(http.NotFoundHandler())
			r.MethodNotAllowedHandler = h.Handler(methodNotAllowed)
			return r
		}, routed},
		{"both", func(h *middleware.HTTP) http.Handler {
			return h.Handler(newRouter(h.Handler))
		}, routed},
		{"both, with its own 405 handler", func(h *middleware.HTTP) http.Handler {
			r := newRouter(h.Handler)
			r.MethodNotAllowedHandler = methodNotAllowed
			return h.Handler(r)
		}, routed},
		// The failures the recipes above avoid: the match is out of sight outside, and
		// Use alone never sees the requests the router turns away.
		{"outside only", func(h *middleware.HTTP) http.Handler {
			return h.Handler(newRouter())
		}, []routeCase{{"GET", "/orders/7", middleware.Unmatched, 200}}},
		{"inside only, Use", func(h *middleware.HTTP) http.Handler {
			return newRouter(h.Handler)
		}, []routeCase{{"GET", "/orders/7", "/orders/{id}", 200}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, gorillaRoute)
			check(t, s, tt.build(s.h), tt.cases)
		})
	}
	t.Run("inside only, Use, 404 unseen", func(t *testing.T) {
		s := newStack(t, gorillaRoute)
		newRouter(s.h.Handler).ServeHTTP(discardWriter{}, mustRequest("GET", "/nothing"))
		if got := s.scraped(t); len(got) != 0 {
			t.Errorf("a 404 was recorded: %v", got)
		}
	})
}

// gin keeps its match in its own context, filled before its middlewares run: a gin
// middleware hands c.FullPath() ("" for its 404 and 405) to the vigil middleware
// wrapping the engine. gin answers through its own writer, so vigil wraps it from
// outside only.
func TestGin(t *testing.T) {
	gin.SetMode(gin.TestMode)
	newEngine := func(use ...gin.HandlerFunc) *gin.Engine {
		e := gin.New()
		e.HandleMethodNotAllowed = true
		e.Use(use...)
		ok := func(c *gin.Context) { c.Status(http.StatusOK) }
		e.GET("/orders/:id", ok)
		v1 := e.Group("/v1")
		v1.GET("/files/*path", ok)
		return e
	}
	ginRoute := func(c *gin.Context) { middleware.SetRoute(c.Request.Context(), c.FullPath()) }
	for _, tt := range []struct {
		name  string
		build func(h *middleware.HTTP) http.Handler
		cases []routeCase
	}{
		{"outside, SetRoute in Use", func(h *middleware.HTTP) http.Handler {
			return h.Handler(newEngine(ginRoute))
		}, []routeCase{
			{"GET", "/orders/7", "/orders/:id", 200},
			{"GET", "/v1/files/a/b.txt", "/v1/files/*path", 200},
			{"GET", "/nothing", middleware.Unmatched, 404},
			{"POST", "/orders/7", middleware.Unmatched, 405},
		}},
		{"outside only", func(h *middleware.HTTP) http.Handler {
			return h.Handler(newEngine())
		}, []routeCase{{"GET", "/orders/7", middleware.Unmatched, 200}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, nil)
			check(t, s, tt.build(s.h), tt.cases)
		})
	}
}

// echoRoute is the echo middleware that hands echo's match to the vigil middleware
// wrapping the server. Echo names a 405 (and an OPTIONS answered for a path) after the
// path it found; the Allow value it sets then tells them from a match.
func echoRoute(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		route := c.Path()
		if c.Get(echo.ContextKeyHeaderAllow) != nil {
			route = ""
		}
		middleware.SetRoute(c.Request().Context(), route)
		return next(c)
	}
}

// echo keeps its match in its own context and writes the responses for the errors
// handlers return after its middlewares returned, so vigil wraps it from outside and an
// echo middleware (e.Use, which runs after routing) publishes c.Path().
func TestEcho(t *testing.T) {
	newServer := func(use ...echo.MiddlewareFunc) *echo.Echo {
		e := echo.New()
		e.Use(use...)
		ok := func(c echo.Context) error { return c.NoContent(http.StatusOK) }
		e.GET("/orders/:id", ok)
		g := e.Group("/v1")
		g.GET("/files/*", ok)
		e.GET("/missing/:id", func(c echo.Context) error { return echo.ErrNotFound })
		return e
	}
	for _, tt := range []struct {
		name  string
		build func(h *middleware.HTTP) http.Handler
		cases []routeCase
	}{
		{"outside, SetRoute in Use", func(h *middleware.HTTP) http.Handler {
			return h.Handler(newServer(echoRoute))
		}, []routeCase{
			{"GET", "/orders/7", "/orders/:id", 200},
			{"GET", "/v1/files/a/b.txt", "/v1/files/*", 200},
			{"GET", "/missing/3", "/missing/:id", 404}, // a route's own 404 keeps its route
			{"GET", "/nothing", middleware.Unmatched, 404},
			{"GET", "/orders", middleware.Unmatched, 404},
			{"POST", "/orders/7", middleware.Unmatched, 405},
		}},
		{"outside only", func(h *middleware.HTTP) http.Handler {
			return h.Handler(newServer())
		}, []routeCase{{"GET", "/orders/7", middleware.Unmatched, 200}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, nil)
			check(t, s, tt.build(s.h), tt.cases)
		})
	}
}
