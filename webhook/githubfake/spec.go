package githubfake

import (
	"bytes"
	"compress/gzip"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// The subset is embedded so that tests of any package can start a fake
// without knowing where this package's testdata lives on disk.
//
//go:embed testdata/openapi/github-subset.json.gz
var subsetGz []byte

// Spec is the loaded OpenAPI subset with a router over its operations.
type Spec struct {
	Doc    *openapi3.T
	routes []*route
	byID   map[string]*route
	// Source is the package the subset was cut from, e.g. @octokit/openapi@23.0.2.
	Source string
	// SHA256 is the checksum of the full description the subset was cut from.
	SHA256 string
}

type route struct {
	method   string
	template string
	segs     []string
	literals int
	item     *openapi3.PathItem
	op       *openapi3.Operation
	id       string
	// queryParams are the query parameter names the operation declares;
	// openapi3filter ignores undeclared ones, GitHub does too, but an App
	// sending one is relying on behaviour that does not exist.
	queryParams map[string]bool
}

var (
	specOnce   sync.Once
	sharedSpec *Spec
	errSpec    error
)

// LoadSpec returns the embedded GitHub OpenAPI subset, loading it once per
// process.
func LoadSpec() (*Spec, error) {
	specOnce.Do(func() { sharedSpec, errSpec = parseSpec(subsetGz) })
	return sharedSpec, errSpec
}

func parseSpec(gz []byte) (*Spec, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("opening OpenAPI subset: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("decompressing OpenAPI subset: %w", err)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("loading OpenAPI subset: %w", err)
	}
	s := &Spec{Doc: doc, byID: map[string]*route{}}
	if info := doc.Info; info != nil {
		if src, ok := info.Extensions["x-subset-of"].(map[string]any); ok {
			s.Source, _ = src["package"].(string)
			s.SHA256, _ = src["sha256"].(string)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			r := &route{method: method, template: path, item: item, op: op, id: op.OperationID, queryParams: map[string]bool{}}
			for _, seg := range strings.Split(strings.Trim(path, "/"), "/") {
				r.segs = append(r.segs, seg)
				if !isParamSeg(seg) {
					r.literals++
				}
			}
			for _, p := range append(item.Parameters, op.Parameters...) {
				if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
					r.queryParams[p.Value.Name] = true
				}
			}
			s.routes = append(s.routes, r)
			s.byID[op.OperationID] = r
		}
	}
	sort.Slice(s.routes, func(i, j int) bool { return s.routes[i].template < s.routes[j].template })
	return s, nil
}

// Operations lists the operation ids the subset holds.
func (s *Spec) Operations() []string {
	ids := make([]string, 0, len(s.byID))
	for id := range s.byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func isParamSeg(seg string) bool { return strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") }

// multiSegment names the path parameters whose values may contain "/"
// unescaped: file paths, refs like "feature/x", and "base...head".
var multiSegment = map[string]bool{"path": true, "ref": true, "basehead": true}

// find returns the operation for method and escaped path, its path
// parameters (unescaped), and whether the path exists under another method.
func (s *Spec) find(method, escapedPath string) (*route, map[string]string, bool) {
	segs := strings.Split(strings.Trim(escapedPath, "/"), "/")
	var best *route
	var bestParams map[string]string
	pathExists := false
	for _, r := range s.routes {
		params := map[string]string{}
		if !matchSegs(r.segs, segs, params) {
			continue
		}
		pathExists = true
		if r.method != method {
			continue
		}
		if best == nil || r.literals > best.literals {
			best, bestParams = r, params
		}
	}
	return best, bestParams, pathExists
}

func matchSegs(tmpl, segs []string, params map[string]string) bool {
	if len(tmpl) == 0 {
		return len(segs) == 0
	}
	if len(segs) == 0 {
		return false
	}
	t := tmpl[0]
	if !isParamSeg(t) {
		if lit, err := url.PathUnescape(segs[0]); err != nil || lit != t {
			return false
		}
		return matchSegs(tmpl[1:], segs[1:], params)
	}
	name := t[1 : len(t)-1]
	maxTake := 1
	if multiSegment[name] {
		maxTake = len(segs) - len(tmpl) + 1
	}
	for take := 1; take <= maxTake; take++ {
		parts := make([]string, take)
		ok := true
		for i, s := range segs[:take] {
			v, err := url.PathUnescape(s)
			if err != nil || v == "" {
				ok = false
				break
			}
			parts[i] = v
		}
		if !ok {
			return false
		}
		if matchSegs(tmpl[1:], segs[take:], params) {
			params[name] = strings.Join(parts, "/")
			return true
		}
	}
	return false
}

func (s *Spec) routerRoute(r *route) *routers.Route {
	return &routers.Route{Spec: s.Doc, Path: r.template, PathItem: r.item, Method: r.method, Operation: r.op}
}

var validationOptions = &openapi3filter.Options{
	MultiError: true,
	// The fake authenticates requests itself, the way GitHub does; the
	// description declares no security schemes for the filter to check.
	AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
	// Defaults would be written back into the request body, and handlers
	// must see what the App actually sent.
	SkipSettingDefaults: true,
	SchemaValidationOptions: []openapi3.SchemaValidationOption{
		openapi3.EnableFormatValidation(),
		// Messages keep the failing JSON pointer and reason but not a dump
		// of GitHub's (often page-long) schema.
		openapi3.DisableSchemaErrorDetails(),
	},
}

// validateRequest checks path, query, headers and body of req (whose body
// was already read into body) against the operation.
func (s *Spec) validateRequest(ctx context.Context, req *http.Request, body []byte, r *route, params map[string]string) (*openapi3filter.RequestValidationInput, []error) {
	// ghinstallation posts the literal body "null" when it has no token
	// options, and GitHub treats that as no body; so does the fake.
	if bytes.Equal(bytes.TrimSpace(body), []byte("null")) {
		body = nil
	}
	clone := req.Clone(ctx)
	clone.Body = io.NopCloser(bytes.NewReader(body))
	input := &openapi3filter.RequestValidationInput{
		Request:    clone,
		PathParams: params,
		Route:      s.routerRoute(r),
		Options:    validationOptions,
	}
	var errs []error
	if err := openapi3filter.ValidateRequest(ctx, input); err != nil {
		errs = append(errs, flattenErrors(err)...)
	}
	var unknown []string
	for name := range req.URL.Query() {
		if !r.queryParams[name] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	for _, name := range unknown {
		errs = append(errs, fmt.Errorf("unknown query parameter %q: %s declares no such parameter", name, r.id))
	}
	clone.Body = io.NopCloser(bytes.NewReader(body))
	return input, errs
}

func (s *Spec) validateResponse(ctx context.Context, in *openapi3filter.RequestValidationInput, status int, header http.Header, body []byte) error {
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 header,
		Options:                validationOptions,
	}
	out.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(ctx, out)
}

// flattenErrors splits kin-openapi's nested MultiErrors into one error per
// problem, keeping the RequestError wrapper that says whether a parameter
// or the body was at fault.
func flattenErrors(err error) []error {
	switch e := err.(type) {
	case openapi3.MultiError:
		var out []error
		for _, inner := range e {
			out = append(out, flattenErrors(inner)...)
		}
		return out
	case *openapi3filter.RequestError:
		var me openapi3.MultiError
		if errors.As(e.Err, &me) && len(me) > 0 {
			var out []error
			for _, inner := range me {
				for _, leaf := range flattenErrors(inner) {
					cp := *e
					cp.Err = leaf
					out = append(out, &cp)
				}
			}
			return out
		}
	}
	return []error{err}
}

// responseSchema returns the JSON schema of op's response for status.
func (r *route) responseSchema(status int) *openapi3.SchemaRef {
	resp := r.op.Responses.Status(status)
	if resp == nil || resp.Value == nil {
		return nil
	}
	mt := resp.Value.Content.Get("application/json")
	if mt == nil {
		return nil
	}
	return mt.Schema
}
