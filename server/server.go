package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"

	"zhengzhao/internal/limits"
	"zhengzhao/ledger"
	"zhengzhao/registry"
	"zhengzhao/verifier"
)

// MaxBody is the largest request body the JSON API accepts
// (limits.JSONBody).
const MaxBody = limits.JSONBody

// MaxUpload is the largest file POST /api/v1/verify and the web forms accept
// (a PDF, a photo or a CSV file); larger uploads are 413 (limits.Upload).
const MaxUpload = limits.Upload

// Config configures the HTTP server.
type Config struct {
	Registry *registry.Service
	// Ledger answers online verification (status and anchor from the ledger).
	Ledger ledger.Ledger
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MetricsToken, when set, serves GET /metrics on the main handler to
	// requests bearing it ("Authorization: Bearer …"). When empty, /metrics
	// is not on the main handler at all: serve MetricsHandler on a listen
	// address of its own (ServeMetrics), or nowhere.
	MetricsToken string
	// CSRFKey is the key form tokens are made with. Instances behind one
	// address share it (registry.Service.SharedKey), so a form one served
	// may be posted to another; empty means a random key of this process.
	CSRFKey []byte
}

// Validate reports a missing required setting.
func (c Config) Validate() error {
	if c.Registry == nil {
		return errors.New("server: Config.Registry is required")
	}
	if c.Ledger == nil {
		return errors.New("server: Config.Ledger is required")
	}
	return nil
}

// Server is Zhengzhao's HTTP edge: the JSON API. Domain errors are mapped to
// statuses in one place (errorHandler).
type Server struct {
	reg    *registry.Service
	ledger ledger.Ledger
	log    *slog.Logger
	now    func() time.Time
	echo   *echo.Echo

	bundleMu  sync.Mutex
	bundle    *verifier.TrustBundle
	bundleRaw *registry.SignedBundle // the bytes bundle was parsed from

	web          *web     // the pages (web.go)
	metrics      *metrics // Prometheus metrics (metrics.go)
	metricsToken string
	csrfKey      []byte
}

// New builds the server and its routes.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{reg: cfg.Registry, ledger: cfg.Ledger, log: cfg.Logger, now: cfg.Now, metricsToken: cfg.MetricsToken, csrfKey: cfg.CSRFKey}
	e := echo.New()
	e.Logger = cfg.Logger
	e.HTTPErrorHandler = s.errorHandler
	e.Use(middleware.Recover())
	e.Use(middleware.BodyLimit(MaxUpload + 64<<10)) // JSON bodies are held to MaxBody by decodeJSON
	s.routes(e)
	if err := s.initWeb(e); err != nil {
		return nil, err
	}
	s.echo = e
	return s, nil
}

// Handler is the server's http.Handler.
func (s *Server) Handler() http.Handler { return s.echo }

func (s *Server) routes(e *echo.Echo) {
	e.GET("/healthz", s.healthz)
	api := e.Group("/api/v1")
	api.GET("/types", s.listTypes)
	api.GET("/types/:code/example", s.typeExample)
	api.GET("/bundle", s.getBundle)
	api.GET("/trust", s.getTrust)
	api.GET("/reasons", s.listReasons)
	api.GET("/log/consistency", s.logConsistency)
	e.GET("/status/:uscc/message/:n", s.statusList)
	api.POST("/licenses", s.issue, s.require(registry.RoleIssuer))
	api.POST("/import", s.importBatch, s.require(registry.RoleIssuer))
	api.GET("/licenses/:id", s.getLicense, s.require(registry.RoleIssuer, registry.RoleAdmin))
	api.POST("/licenses/:id/status", s.setStatus, s.require(registry.RoleIssuer))
	api.POST("/licenses/:id/versions", s.newVersion, s.require(registry.RoleIssuer))
	api.GET("/licenses/:id/pdf", s.licensePDF, s.require(registry.RoleIssuer, registry.RoleAdmin))
	api.GET("/licenses/:id/qr.png", s.licenseQR, s.require(registry.RoleIssuer, registry.RoleAdmin))
	api.GET("/departments/:uscc/seal.png", s.sealPicture)
	api.POST("/departments/:uscc/keys", s.rotateKey, s.require(registry.RoleAdmin))
	api.POST("/departments/:uscc/keys/:keyid/revoke", s.revokeKey, s.require(registry.RoleAdmin))
	api.POST("/verify", s.verify, s.require(registry.RoleVerifier, registry.RoleIssuer, registry.RoleAdmin))
	s.itemAPIRoutes(api)
}

// ListenAndServe serves on addr until ctx ends, then shuts down gracefully.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	return s.listenAndServe(ctx, addr, s.echo)
}

// ServeMetrics serves the Prometheus metrics (MetricsHandler) at /metrics
// on a listen address of their own, such as 127.0.0.1:9464, until ctx ends.
func (s *Server) ServeMetrics(ctx context.Context, addr string) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.MetricsHandler())
	return s.listenAndServe(ctx, addr, mux)
}

func (s *Server) listenAndServe(ctx context.Context, addr string, h http.Handler) error {
	srv := &http.Server{
		Addr: addr, Handler: h,
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second, WriteTimeout: 60 * time.Second,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	}
}
