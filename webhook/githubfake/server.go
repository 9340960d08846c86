package githubfake

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// call is one request on its way through the fake.
type call struct {
	f         *Fake
	r         *http.Request
	rt        *route
	params    map[string]string
	query     url.Values
	raw       []byte
	body      map[string]any
	cred      *credential
	repo      *Repo
	header    http.Header
	requestID string
	prefix    string // "/api/v3" when the client used GitHub Enterprise paths
	// arrived is the request's place in the fake's order of events.
	arrived uint64
}

// reply is a handler's answer.
type reply struct {
	status      int
	body        any
	raw         []byte // sent as is with contentType, bypassing JSON
	contentType string
	objectID    int64
	isError     bool
}

type handler func(c *call) reply

// operations that authenticate with the App's JWT, and the one that needs
// no authentication at all.
var jwtOperations = map[string]bool{
	"apps/get-authenticated":                true,
	"apps/get-installation":                 true,
	"apps/list-installations":               true,
	"apps/get-repo-installation":            true,
	"apps/create-installation-access-token": true,
	"apps/list-webhook-deliveries":          true,
	"apps/get-webhook-delivery":             true,
	"apps/redeliver-webhook-delivery":       true,
}

const unauthenticatedOperation = "apps/create-from-manifest"

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	h := strings.ToUpper(hex.EncodeToString(b[:]))
	return h[0:4] + ":" + h[4:8] + ":" + h[8:12] + ":" + h[12:16]
}

// ServeHTTP answers one API request: route, validate against the
// description, authenticate, apply rate limits and faults, then run the
// operation's handler against the state.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "reading request body", http.StatusBadRequest)
		return
	}
	reqID := newRequestID()
	w.Header().Set("X-GitHub-Request-Id", reqID)
	w.Header().Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	w.Header().Set("X-GitHub-Media-Type", "github.v3; format=json")

	// go-github's WithEnterpriseURLs adds GitHub Enterprise Server's
	// /api/v3 prefix to hosts like 127.0.0.1; serve both forms.
	prefix := ""
	if strings.HasPrefix(r.URL.Path, "/api/v3/") {
		prefix = "/api/v3"
		r = r.Clone(r.Context())
		r.URL.Path = strings.TrimPrefix(r.URL.Path, prefix)
		r.URL.RawPath = strings.TrimPrefix(r.URL.RawPath, prefix)
	}
	rt, params, pathExists := f.spec.find(r.Method, r.URL.EscapedPath())
	if rt == nil {
		f.mu.Lock()
		msg := "no operation in the OpenAPI subset matches this request; add it to internal/ghops and run scripts/extract-openapi.sh"
		if pathExists {
			msg = "the path exists but not with this method"
		}
		f.violate(Violation{Method: r.Method, Path: r.URL.Path, Message: msg})
		f.requests = append(f.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Status: http.StatusNotFound, At: f.now()})
		f.mu.Unlock()
		writeJSON(w, http.StatusNotFound, errorBody(http.StatusNotFound, "Not Found", "https://docs.github.com/rest", nil))
		return
	}

	input, verrs := f.spec.validateRequest(r.Context(), r, raw, rt, params)

	f.mu.Lock()
	for _, e := range verrs {
		f.violate(Violation{OperationID: rt.id, Method: r.Method, Path: r.URL.Path, Message: e.Error()})
	}
	fault, hasFault := f.takeFault(rt, r.Header.Get("User-Agent"))
	f.seq++
	arrived := f.seq
	f.mu.Unlock()

	if hasFault && fault.hold != nil {
		fault.arrive.Do(func() { close(fault.reached) })
		select {
		case <-fault.hold:
		case <-r.Context().Done():
			f.mu.Lock()
			f.requests = append(f.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), OperationID: rt.id, Status: 0, At: f.now()})
			f.mu.Unlock()
			return
		}
		hasFault = fault.Status != 0 || fault.resetIn != 0 || fault.Delay > 0
	}
	if hasFault && fault.Delay > 0 {
		timer := time.NewTimer(fault.Delay)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			f.mu.Lock()
			f.requests = append(f.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), OperationID: rt.id, Status: 0, At: f.now()})
			f.mu.Unlock()
			return
		}
		hasFault = fault.Status != 0 || fault.resetIn != 0
	}

	if hasFault && fault.holdAnswer != nil {
		// The change is made now; the answer waits (or is lost).
		rec := httptest.NewRecorder()
		f.mu.Lock()
		c := &call{f: f, r: r, rt: rt, params: params, query: r.URL.Query(), raw: raw, header: http.Header{}, requestID: reqID, prefix: prefix, arrived: arrived}
		rep, window := f.dispatch(c, verrs, Fault{}, false)
		f.finish(rec, c, rep, window, input)
		f.mu.Unlock()
		fault.arrive.Do(func() { close(fault.reached) })
		select {
		case <-fault.holdAnswer:
		case <-r.Context().Done():
			return
		}
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	c := &call{f: f, r: r, rt: rt, params: params, query: r.URL.Query(), raw: raw, header: http.Header{}, requestID: reqID, prefix: prefix, arrived: arrived}
	rep, window := f.dispatch(c, verrs, fault, hasFault)
	f.finish(w, c, rep, window, input)
}

func (f *Fake) dispatch(c *call, verrs []error, fault Fault, hasFault bool) (reply, *rateWindow) {
	if rep, bad := c.validationReply(verrs); bad {
		return rep, nil
	}
	if len(c.raw) > 0 && string(bytes.TrimSpace(c.raw)) != "null" {
		if err := json.Unmarshal(c.raw, &c.body); err != nil {
			return c.fail(http.StatusBadRequest, "Problems parsing JSON"), nil
		}
	}

	cred, aerr := f.authenticate(c.r)
	switch {
	case c.rt.id == unauthenticatedOperation:
		cred = &credential{kind: "anonymous"}
	case aerr != nil:
		return c.fail(aerr.status, aerr.message), nil
	case jwtOperations[c.rt.id] && cred.kind == "installation":
		return c.fail(http.StatusUnauthorized, msgJWTUndecodable), nil
	case jwtOperations[c.rt.id] && cred.kind == "anonymous":
		return c.fail(http.StatusUnauthorized, msgRequiresAuth), nil
	case !jwtOperations[c.rt.id] && cred.kind == "app" && !strings.HasPrefix(c.rt.template, "/repos/"):
		return c.fail(http.StatusForbidden, msgNotAccessible), nil
	}
	c.cred = cred

	limit := f.cfg.rateLimit
	if cred.kind == "anonymous" {
		limit = 60
	}
	window := f.rateFor(cred.rateKey(c.r), limit)
	now := f.now()
	if hasFault && fault.resetIn != 0 {
		window.exhausted = now.Add(fault.resetIn)
	}
	if window.remaining(now) == 0 {
		msg := primaryLimitMessage(cred)
		if strings.Contains(msg, "%s") {
			msg = fmt.Sprintf(msg, c.requestID, now.Format(time.RFC3339))
		}
		status := http.StatusForbidden
		if hasFault && fault.Status != 0 {
			status = fault.Status
		}
		rep := c.fail(status, msg)
		rep.body.(map[string]any)["documentation_url"] = docPrimaryRateLimit
		return rep, window
	}
	window.used++

	if hasFault {
		msg := fault.Message
		if strings.Contains(msg, "%s") {
			msg = fmt.Sprintf(msg, c.requestID)
		}
		rep := c.fail(fault.Status, msg)
		if fault.DocURL != "" {
			rep.body.(map[string]any)["documentation_url"] = fault.DocURL
		}
		for k, vs := range fault.Header {
			c.header[k] = vs
		}
		return rep, window
	}

	if strings.HasPrefix(c.rt.template, "/repos/{owner}/{repo}") && !jwtOperations[c.rt.id] {
		repo, ok := f.repoByName(c.params["owner"], c.params["repo"])
		if !ok {
			return c.notFound(), window
		}
		if aerr := f.authorizeRepo(cred, c.rt.id, c.r.Method, repo); aerr != nil {
			return c.fail(aerr.status, aerr.message), window
		}
		c.repo = repo
	}
	h, ok := handlers[c.rt.id]
	if !ok {
		f.violate(Violation{OperationID: c.rt.id, Method: c.r.Method, Path: c.r.URL.Path, Message: "the fake has no handler for this operation"})
		return c.notFound(), window
	}
	return h(c), window
}

// validationReply turns description violations into GitHub's answer: 404
// for a malformed path parameter (GitHub's router never matches it), 400
// for unparsable JSON, 422 for anything else it would reject. Unknown
// query parameters are ignored, as GitHub ignores them; they were still
// reported as violations.
func (c *call) validationReply(verrs []error) (reply, bool) {
	var messages []string
	for _, e := range verrs {
		var re *openapi3filter.RequestError
		if !errors.As(e, &re) {
			continue
		}
		if re.Parameter != nil && re.Parameter.In == openapi3.ParameterInPath {
			return c.notFound(), true
		}
		if re.RequestBody != nil && len(c.raw) > 0 && !json.Valid(c.raw) {
			return c.fail(http.StatusBadRequest, "Problems parsing JSON"), true
		}
		messages = append(messages, re.Error())
	}
	if len(messages) == 0 {
		return reply{}, false
	}
	return c.fail(http.StatusUnprocessableEntity, "Invalid request.\n\n"+strings.Join(messages, "\n")), true
}

func (f *Fake) finish(w http.ResponseWriter, c *call, rep reply, window *rateWindow, input *openapi3filter.RequestValidationInput) {
	now := f.now()
	h := w.Header()
	for k, vs := range c.header {
		h[k] = vs
	}
	var body []byte
	switch {
	case rep.raw != nil:
		body = rep.raw
		h.Set("Content-Type", rep.contentType)
	case rep.body != nil:
		v, err := toJSONValue(rep.body)
		if err != nil {
			panic(fmt.Sprintf("githubfake: %s: %v", c.rt.id, err))
		}
		if !rep.isError {
			v = fillValue(c.rt.responseSchema(rep.status), v, 0)
		}
		body, err = json.Marshal(v)
		if err != nil {
			panic(fmt.Sprintf("githubfake: %s: encoding response: %v", c.rt.id, err))
		}
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	status := rep.status
	if c.r.Method == http.MethodGet && status == http.StatusOK {
		sum := sha256.Sum256(body)
		etag := `W/"` + hex.EncodeToString(sum[:16]) + `"`
		h.Set("ETag", etag)
		h.Set("Cache-Control", "private, max-age=60, s-maxage=60")
		h.Set("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
		if etagMatches(c.r.Header.Get("If-None-Match"), etag) {
			// GitHub does not count a 304 against the rate limit.
			status, body = http.StatusNotModified, nil
			if window != nil {
				window.used--
			}
			h.Del("Content-Type")
		}
	}
	if window != nil {
		window.setHeaders(h, now)
	}
	if f.cfg.validateResponse && input != nil && status != http.StatusNotModified && !rep.isError && rep.raw == nil {
		if err := f.spec.validateResponse(c.r.Context(), input, status, h, body); err != nil {
			f.violate(Violation{OperationID: c.rt.id, Method: c.r.Method, Path: c.r.URL.Path, Message: "the fake's own response: " + err.Error()})
		}
	}
	f.requests = append(f.requests, Request{Method: c.r.Method, Path: c.r.URL.Path, Query: c.query, OperationID: c.rt.id, Status: status, At: now})
	if c.r.Method != http.MethodGet && status >= 200 && status < 300 {
		var decoded any
		if len(c.raw) > 0 {
			_ = json.Unmarshal(c.raw, &decoded)
		}
		f.seq++
		f.mutations = append(f.mutations, Mutation{Method: c.r.Method, OperationID: c.rt.id, Path: c.r.URL.Path, Body: decoded, ObjectID: rep.objectID, Status: status,
			Agent: c.r.Header.Get("User-Agent"), Arrived: c.arrived, Answered: f.seq})
	}
	if body != nil {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(status)
	if body != nil {
		_, _ = w.Write(body)
	}
}

func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	strip := func(s string) string { return strings.TrimPrefix(strings.TrimSpace(s), "W/") }
	for _, candidate := range strings.Split(header, ",") {
		if strings.TrimSpace(candidate) == "*" || strip(candidate) == strip(etag) {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func errorBody(status int, message, doc string, errs []any) map[string]any {
	b := map[string]any{"message": message, "documentation_url": doc, "status": strconv.Itoa(status)}
	if errs != nil {
		b["errors"] = errs
	}
	return b
}

func (c *call) docURL() string {
	if c.rt.op.ExternalDocs != nil && c.rt.op.ExternalDocs.URL != "" {
		return c.rt.op.ExternalDocs.URL
	}
	return "https://docs.github.com/rest"
}

func (c *call) fail(status int, message string) reply {
	return reply{status: status, body: errorBody(status, message, c.docURL(), nil), isError: true}
}

func (c *call) notFound() reply { return c.fail(http.StatusNotFound, "Not Found") }

// invalid answers 422 "Validation Failed" with one error entry, GitHub's
// shape for a request that parses but that the model rejects.
func (c *call) invalid(resource, field, code, message string) reply {
	e := map[string]any{"resource": resource, "field": field, "code": code}
	if message != "" {
		e["message"] = message
	}
	return reply{status: http.StatusUnprocessableEntity, body: errorBody(http.StatusUnprocessableEntity, "Validation Failed", c.docURL(), []any{e}), isError: true}
}

func ok(body any) reply { return reply{status: http.StatusOK, body: body} }

func created(body any, id int64) reply {
	return reply{status: http.StatusCreated, body: body, objectID: id}
}

// page slices a list of total items by per_page and page and sets the Link
// header GitHub sends.
func (c *call) page(total int) (lo, hi int) {
	per := 30
	if v, err := strconv.Atoi(c.query.Get("per_page")); err == nil && v > 0 {
		per = v
	}
	if per > 100 {
		per = 100
	}
	pg := 1
	if v, err := strconv.Atoi(c.query.Get("page")); err == nil && v > 0 {
		pg = v
	}
	last := (total + per - 1) / per
	if last < 1 {
		last = 1
	}
	link := func(n int, rel string) string {
		q := url.Values{}
		for k, vs := range c.query {
			q[k] = vs
		}
		q.Set("page", strconv.Itoa(n))
		q.Set("per_page", strconv.Itoa(per))
		u := url.URL{Scheme: "http", Host: c.r.Host, Path: c.prefix + c.r.URL.Path, RawQuery: q.Encode()}
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if pg < last {
		links = append(links, link(pg+1, "next"), link(last, "last"))
	}
	if pg > 1 {
		prev := pg - 1
		if prev > last {
			prev = last
		}
		links = append(links, link(1, "first"), link(prev, "prev"))
	}
	if len(links) > 0 {
		c.header.Set("Link", strings.Join(links, ", "))
	}
	lo = (pg - 1) * per
	if lo > total {
		lo = total
	}
	hi = lo + per
	if hi > total {
		hi = total
	}
	return lo, hi
}

func (c *call) str(name string) string {
	s, _ := c.body[name].(string)
	return s
}

func (c *call) has(name string) bool {
	_, ok := c.body[name]
	return ok
}

func (c *call) intParam(name string) int64 {
	n, _ := strconv.ParseInt(c.params[name], 10, 64)
	return n
}

func jsonInt(v any) (int, bool) {
	switch x := v.(type) {
	case float64:
		return int(x), true
	case json.Number:
		n, err := x.Int64()
		return int(n), err == nil
	}
	return 0, false
}
