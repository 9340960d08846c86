package githubfake

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkLoadSubset measures decompressing and loading the committed
// OpenAPI subset (what LoadSpec does once per test binary).
func BenchmarkLoadSubset(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseSpec(subsetGz); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateRequest measures routing and validating one typical
// App request: a check run update with output and two annotations.
func BenchmarkValidateRequest(b *testing.B) {
	spec, err := LoadSpec()
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"name":"migration-guard","status":"completed","conclusion":"failure","completed_at":"2026-01-02T03:04:05Z",` +
		`"output":{"title":"2 findings","summary":"Two risky statements","annotations":[` +
		`{"path":"migrations/002.sql","start_line":1,"end_line":1,"annotation_level":"failure","message":"ALTER TABLE takes an ACCESS EXCLUSIVE lock"},` +
		`{"path":"migrations/002.sql","start_line":4,"end_line":4,"annotation_level":"warning","message":"CREATE INDEX without CONCURRENTLY"}]}}`)
	req := httptest.NewRequest(http.MethodPatch, "/repos/acme/billing/check-runs/42", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		rt, params, _ := spec.find(req.Method, req.URL.EscapedPath())
		if rt == nil {
			b.Fatal("no route")
		}
		if _, errs := spec.validateRequest(ctx, req, body, rt, params); len(errs) != 0 {
			b.Fatal(errs)
		}
	}
}
