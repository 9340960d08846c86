// Package webhook is the GitHub App: it receives webhook deliveries,
// verifies and queues them, and for each pull request (or merge queue
// commit) reads the changed migrations from GitHub, runs the analyzer and
// reports on GitHub: the "migration-guard" check run, inline review
// comments and one sticky comment with the checklist. It is the only
// package that talks to GitHub; the texts it posts come from checklist.
package webhook

import (
	"container/list"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server is the running App.
type Server struct {
	p       *parsed
	log     *slog.Logger
	metrics *metrics
	clients *clients
	queue   jobQueue
	seen    *deliveryLRU
	// commits serializes the conclusion of a commit shared by several
	// pull requests (see commit.go).
	commits commitLocks
	// sharedLock, when replicas share the queue's PostgreSQL database,
	// extends commits to all of them (an advisory lock).
	sharedLock func(ctx context.Context, key string) (func(), error)
	// unverified bounds the bytes of bodies read but not yet verified.
	unverified *byteBudget
	setup      *setupFlow
	handler    http.Handler

	reconcile *reconciler

	identity atomic.Pointer[appIdentity]
	identMu  sync.Mutex

	scrubber *RedactingHandler
	// jobDone, when set (by tests), hears of every job that ran.
	jobDone func(j *Job, outcome string)
	// jobStage, when set (by tests), is called as each run of a job
	// starts ("start") and once its check run is in progress
	// ("check-run"), where a panic of the job's code would be.
	jobStage func(j *Job, stage string)

	readyMu    sync.Mutex
	readyAt    time.Time
	readyErr   error
	readyCache time.Duration
}

// New validates cfg and builds the server; it starts the job workers but
// does not listen (see Run, or serve Handler yourself).
func New(cfg Config) (*Server, error) {
	p, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	s := &Server{p: p, log: p.Logger, metrics: newMetrics(), seen: newDeliveryLRU(p.DedupeSize), readyCache: 30 * time.Second,
		unverified: &byteBudget{max: p.UnverifiedBytes}}
	s.scrubber = NewRedactingHandler(slog.DiscardHandler, p.WebhookSecret, string(p.PrivateKey))
	s.clients = newClients(p, s.metrics)
	s.reconcile = newReconciler(s.metrics.registry)
	superseded := func(old, by *Job) {
		s.metrics.jobs.WithLabelValues("superseded").Inc()
		s.log.Info("job superseded before it ran", "deliveries", old.Deliveries, "by_delivery", lastOf(by.Deliveries), "event", old.Event,
			"repository", old.Owner+"/"+old.Repo, "pull_request", old.Number, "head_sha", old.HeadSHA, "outcome", "superseded")
	}
	if p.QueueDataDir != "" || p.QueueDatabaseURL != "" {
		dq, err := newDurableQueue(context.Background(), p, s.runJob)
		if err != nil {
			return nil, err
		}
		dq.superseded = superseded
		dq.failCrashed = s.failCrashedJob
		dq.closeLeft = s.closeLeftRuns
		s.sharedLock = dq.eng.sharedLock()
		// The queue's depth is read from its database at each scrape.
		s.metrics.registry.Unregister(s.metrics.queueDepth)
		s.metrics.registry.MustRegister(newQueueCollector(dq))
		if err := dq.start(); err != nil {
			dq.eng.close()
			return nil, err
		}
		s.queue = dq
	} else {
		mq := newQueue(p.Workers, p.QueueSize, p.InstallationQueueSize, s.runJob)
		mq.superseded = superseded
		mq.dropped = func(j *Job) {
			s.metrics.jobs.WithLabelValues("dropped").Inc()
			s.log.Error("job dropped at shutdown before it ran: redeliver these deliveries or re-run the check", "deliveries", j.Deliveries,
				"event", j.Event, "repository", j.Owner+"/"+j.Repo, "pull_request", j.Number, "head_sha", j.HeadSHA, "outcome", "dropped")
		}
		mq.depth = func(n int) { s.metrics.queueDepth.Set(float64(n)) }
		s.queue = mq
	}
	if p.SetupEnabled {
		s.setup = newSetupFlow(p, s.clients, s.log)
	}
	s.handler = s.routes()
	return s, nil
}

// scrub removes secrets from a text bound for GitHub or a log.
func (s *Server) scrub(text string) string { return s.scrubber.redact(text) }

func lastOf(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return ids[len(ids)-1]
}

func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Post("/webhook", s.handleWebhook)
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	r.Get("/readyz", s.handleReady)
	r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
	if s.setup != nil {
		r.Get("/setup", s.setup.page)
		r.Get("/setup/callback", s.setup.callback)
	}
	return r
}

// Handler serves the App's endpoints.
func (s *Server) Handler() http.Handler { return s.handler }

// Run listens on the configured address until ctx ends, then shuts down
// gracefully: it stops accepting connections, lets requests in flight
// finish, and gives running jobs ShutdownTimeout to finish.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.p.ListenAddr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", s.p.ListenAddr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	mode := "app"
	if s.p.appless {
		mode = "setup only"
	}
	s.log.Info("listening", "addr", ln.Addr().String(), "api_url", s.p.apiURL.String(), "mode", mode, "workers", s.p.Workers, "queue_size", s.p.QueueSize, "version", s.p.Version)
	if !s.p.appless {
		go s.learnIdentity(ctx)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	// The listener accepts already, so redeliveries asked for now reach
	// this process.
	rctx, stopReconcile := context.WithCancel(ctx)
	defer stopReconcile()
	reconciled := s.startReconcile(rctx)
	select {
	case err := <-errc:
		stopReconcile()
		<-reconciled
		s.shutdownQueue()
		return fmt.Errorf("serving HTTP: %w", err)
	case <-ctx.Done():
	}
	// Reconciling queues jobs: it must end before the queue closes.
	stopReconcile()
	<-reconciled
	s.log.Info("shutting down: no new deliveries; finishing running jobs", "deadline", s.p.ShutdownTimeout.String())
	// One deadline for both: requests in flight, then the jobs.
	sctx, cancel := context.WithTimeout(context.Background(), s.p.ShutdownTimeout)
	defer cancel()
	herr := srv.Shutdown(sctx)
	qerr := s.queue.Shutdown(sctx)
	if herr != nil && !errors.Is(herr, context.DeadlineExceeded) {
		return fmt.Errorf("shutting down HTTP: %w", herr)
	}
	if qerr != nil {
		s.log.Warn("shutdown deadline passed with jobs still running; they were cancelled", "error", qerr.Error())
	}
	s.log.Info("stopped")
	return nil
}

func (s *Server) shutdownQueue() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.p.ShutdownTimeout)
	defer cancel()
	return s.queue.Shutdown(ctx)
}

// Shutdown stops the queue, for callers that serve Handler themselves.
func (s *Server) Shutdown(ctx context.Context) error { return s.queue.Shutdown(ctx) }

// learnIdentity asks GitHub for the App's slug, which names its bot
// account; jobs ask again if this fails.
func (s *Server) learnIdentity(ctx context.Context) {
	ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := s.appIdentity(ictx); err != nil {
		s.log.Warn("could not ask GitHub who the App is yet; will retry on the first job", "error", err.Error())
	}
}

func (s *Server) appIdentity(ctx context.Context) (appIdentity, error) {
	if id := s.identity.Load(); id != nil {
		return *id, nil
	}
	s.identMu.Lock()
	defer s.identMu.Unlock()
	if id := s.identity.Load(); id != nil {
		return *id, nil
	}
	id, err := s.clients.identity(ctx)
	if err != nil {
		return appIdentity{}, err
	}
	s.identity.Store(&id)
	s.log.Info("App identity", "slug", id.Slug, "bot", id.BotLogin)
	return id, nil
}

// handleReady says whether deliveries can be handled: configuration
// loaded, the queue open, and the App able to authenticate (a JWT that
// GitHub accepts, checked at most every readyCache).
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	status := map[string]string{"config": "ok", "queue": "open", "github": "ok"}
	code := http.StatusOK
	if s.queue.Closed() {
		status["queue"], code = "shutting down", http.StatusServiceUnavailable
	} else if err := s.queue.engineReady(r.Context()); err != nil {
		status["queue"], code = err.Error(), http.StatusServiceUnavailable
	}
	if s.p.appless {
		status["github"], code = "no App credentials yet: finish /setup", http.StatusServiceUnavailable
	} else if err := s.checkGitHub(r.Context()); err != nil {
		status["github"], code = err.Error(), http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(status)
}

func (s *Server) checkGitHub(ctx context.Context) error {
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	if !s.readyAt.IsZero() && time.Since(s.readyAt) < s.readyCache {
		return s.readyErr
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, s.readyErr = s.clients.identity(ctx)
	s.readyAt = time.Now()
	if s.readyErr != nil {
		s.readyErr = errors.New("cannot authenticate as the App")
	}
	return s.readyErr
}

// handleWebhook answers GitHub within milliseconds: verify, decode just
// enough to route, queue, answer 202. The work happens in the queue.
func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	event := r.Header.Get("X-GitHub-Event")
	delivery := r.Header.Get("X-GitHub-Delivery")
	var info routed
	outcome := "accepted"
	defer func() {
		s.metrics.deliveries.WithLabelValues(metricEvent(event), outcome).Inc()
		attrs := []any{"delivery", delivery, "event", event, "action", info.action, "outcome", outcome, "duration_ms", float64(time.Since(start).Microseconds()) / 1000}
		if info.repo != "" {
			attrs = append(attrs, "repository", info.repo)
		}
		if info.number != 0 {
			attrs = append(attrs, "pull_request", info.number)
		}
		if info.head != "" {
			attrs = append(attrs, "head_sha", info.head)
		}
		level := slog.LevelInfo
		if outcome == "bad_signature" || outcome == "too_large" || outcome == "queue_full" || outcome == "queue_down" || outcome == "busy" {
			level = slog.LevelWarn
		}
		s.log.Log(r.Context(), level, "delivery", attrs...)
	}()
	reply := func(code int, msg string) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, msg+"\n")
	}
	if s.p.appless {
		outcome = "not_configured"
		reply(http.StatusServiceUnavailable, "the App is not configured yet")
		return
	}
	if r.ContentLength > s.p.MaxBodyBytes {
		outcome = "too_large"
		reply(http.StatusRequestEntityTooLarge, "payload too large")
		return
	}
	body, reserved, err := s.readUnverified(w, r)
	// Verified or refused, the body no longer counts as unverified.
	verified := false
	defer func() {
		if !verified {
			s.unverified.release(reserved)
		}
	}()
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.Is(err, errBusy):
			outcome = "busy"
			w.Header().Set("Retry-After", "1")
			reply(http.StatusServiceUnavailable, "too many deliveries are being read; redeliver later")
		case errors.As(err, &mbe):
			outcome = "too_large"
			reply(http.StatusRequestEntityTooLarge, "payload too large")
		default:
			outcome = "bad_request"
			reply(http.StatusBadRequest, "could not read the body")
		}
		return
	}
	ok := validSignature(s.p.WebhookSecret, body, r.Header.Get("X-Hub-Signature-256"))
	verified = true
	s.unverified.release(reserved)
	if !ok {
		outcome = "bad_signature"
		reply(http.StatusUnauthorized, "bad signature")
		return
	}
	if event == "" {
		outcome = "bad_payload"
		reply(http.StatusBadRequest, "no X-GitHub-Event")
		return
	}
	jobs, info, err := s.route(event, body)
	if err != nil {
		outcome = "bad_payload"
		reply(http.StatusBadRequest, "could not decode the payload")
		s.log.Warn("undecodable delivery", "delivery", delivery, "event", event, "error", err.Error())
		return
	}
	if info.ignore != "" {
		outcome = "ignored"
		reply(http.StatusAccepted, "ignored: "+info.ignore)
		return
	}
	if delivery != "" && !s.seen.Reserve(delivery) {
		outcome = "duplicate"
		reply(http.StatusAccepted, "duplicate delivery")
		return
	}
	now := time.Now()
	for _, j := range jobs {
		j.Deliveries, j.Event, j.Enqueued = []string{delivery}, event+"."+info.action, now
		if err := s.queue.Enqueue(j); err != nil {
			// Forget the id: GitHub's redelivery of a failed delivery
			// carries the same id and must be accepted then.
			s.seen.Release(delivery)
			outcome = "queue_full"
			switch {
			case errors.Is(err, errQueueClosed):
				outcome = "shutting_down"
			case errors.Is(err, errEngineDown):
				outcome = "queue_down"
				s.log.Error("a delivery could not be committed to the queue; answered 503", "delivery", delivery, "error", err.Error())
				err = errEngineDown
			}
			reply(http.StatusServiceUnavailable, err.Error()+"; redeliver later")
			return
		}
	}
	reply(http.StatusAccepted, fmt.Sprintf("queued %d job(s)", len(jobs)))
}

// errBusy refuses a delivery whose body would take the bytes read but not
// yet verified over their bound.
var errBusy = errors.New("too many unverified bytes in flight")

// readChunk is how far a body of unknown length is read (and reserved)
// at a time.
const readChunk = 64 << 10

// readUnverified reads a delivery's body, reserving every byte in the
// budget of unverified bytes before it is read: anyone can send a body,
// and until its signature is checked it is a stranger's memory. A body
// of announced length reserves it at once, so a refusal comes before any
// byte is read. The caller releases the reservation, which is returned
// also with an error.
func (s *Server) readUnverified(w http.ResponseWriter, r *http.Request) ([]byte, int64, error) {
	limit := s.p.MaxBodyBytes
	body := http.MaxBytesReader(w, r.Body, limit)
	known := r.ContentLength >= 0
	// One byte over the limit tells a body too large.
	want := min(int64(readChunk), limit+1)
	if known {
		want = r.ContentLength
	}
	if !s.unverified.acquire(want) {
		return nil, 0, errBusy
	}
	reserved := want
	buf := make([]byte, 0, want)
	for {
		if int64(len(buf)) == reserved {
			if known {
				// The server's reader ends a body at its Content-Length.
				return buf, reserved, nil
			}
			more := min(max(reserved, readChunk), limit+1-reserved)
			if more <= 0 {
				_, err := body.Read(make([]byte, 1))
				if err == io.EOF {
					return buf, reserved, nil
				}
				return nil, reserved, &http.MaxBytesError{Limit: limit}
			}
			if !s.unverified.acquire(more) {
				return nil, reserved, errBusy
			}
			reserved += more
			buf = append(make([]byte, 0, reserved), buf...)
		}
		n, err := body.Read(buf[len(buf):reserved])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, reserved, nil
		}
		if err != nil {
			return nil, reserved, err
		}
	}
}

// byteBudget is a bound on bytes held at once, shared by all requests.
type byteBudget struct {
	mu   sync.Mutex
	max  int64
	used int64
	// peak is the most ever held, for tests.
	peak int64
}

// acquire reserves n bytes, or reports that they would go over the bound.
func (b *byteBudget) acquire(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.max {
		return false
	}
	b.used += n
	b.peak = max(b.peak, b.used)
	return true
}

func (b *byteBudget) release(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
}

func (b *byteBudget) state() (used, peak int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used, b.peak
}

// metricEvent keeps the event label bounded: a forged or new event name
// must not create series.
func metricEvent(e string) string {
	switch e {
	case "pull_request", "check_run", "check_suite", "merge_group", "installation", "installation_repositories", "issue_comment", "ping":
		return e
	}
	return "other"
}

// validSignature checks X-Hub-Signature-256 in constant time.
func validSignature(secret string, body []byte, header string) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// deliveryLRU remembers recent delivery ids, so that a retried or
// redelivered delivery that was already accepted is not queued twice.
type deliveryLRU struct {
	mu    sync.Mutex
	max   int
	ids   map[string]*list.Element
	order *list.List
}

func newDeliveryLRU(n int) *deliveryLRU {
	return &deliveryLRU{max: n, ids: map[string]*list.Element{}, order: list.New()}
}

// Reserve records id and reports whether it was new.
func (l *deliveryLRU) Reserve(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.ids[id]; ok {
		l.order.MoveToFront(el)
		return false
	}
	l.ids[id] = l.order.PushFront(id)
	for l.order.Len() > l.max {
		last := l.order.Back()
		l.order.Remove(last)
		delete(l.ids, last.Value.(string))
	}
	return true
}

// Release forgets id.
func (l *deliveryLRU) Release(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.ids[id]; ok {
		l.order.Remove(el)
		delete(l.ids, id)
	}
}
