package subset

import (
	"strings"
	"testing"
)

func doc() map[string]any {
	return map[string]any{
		"openapi": "3.0.3",
		"info":    map[string]any{"title": "t", "version": "1"},
		"paths": map[string]any{
			"/a": map[string]any{
				"parameters": []any{map[string]any{"$ref": "#/components/parameters/p"}},
				"get": map[string]any{
					"operationId": "x/get-a",
					"responses": map[string]any{"200": map[string]any{"content": map[string]any{"application/json": map[string]any{
						"schema":   map[string]any{"$ref": "#/components/schemas/A"},
						"examples": map[string]any{"default": map[string]any{"$ref": "#/components/examples/big"}},
					}}}},
				},
				"post": map[string]any{"operationId": "x/post-a"},
			},
			"/b": map[string]any{"get": map[string]any{"operationId": "x/get-b", "responses": map[string]any{"200": map[string]any{"$ref": "#/components/responses/unused"}}}},
		},
		"components": map[string]any{
			"parameters": map[string]any{"p": map[string]any{"name": "p", "in": "query"}},
			"schemas": map[string]any{
				"A":      map[string]any{"properties": map[string]any{"b": map[string]any{"$ref": "#/components/schemas/B"}, "examples": map[string]any{"type": "string"}}},
				"B":      map[string]any{"properties": map[string]any{"a": map[string]any{"$ref": "#/components/schemas/A"}}},
				"Unused": map[string]any{"type": "string"},
			},
			"examples":  map[string]any{"big": map[string]any{"value": "huge"}},
			"responses": map[string]any{"unused": map[string]any{"description": "x"}},
		},
	}
}

func TestExtract(t *testing.T) {
	out, err := Extract(doc(), []string{"x/get-a"}, Source{Package: "pkg@1", SHA256: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	paths := out["paths"].(map[string]any)
	if len(paths) != 1 {
		t.Fatalf("paths = %v", paths)
	}
	a := paths["/a"].(map[string]any)
	if _, ok := a["post"]; ok {
		t.Fatal("an unlisted operation under a kept path was kept")
	}
	if _, ok := a["parameters"]; !ok {
		t.Fatal("path-level parameters were dropped")
	}
	comps := out["components"].(map[string]any)
	schemas := comps["schemas"].(map[string]any)
	if len(schemas) != 2 || schemas["A"] == nil || schemas["B"] == nil {
		t.Fatalf("schemas = %v, want A and B (a cycle) only", schemas)
	}
	if comps["parameters"] == nil || comps["examples"] != nil || comps["responses"] != nil {
		t.Fatalf("components = %v", comps)
	}
	if _, ok := schemas["A"].(map[string]any)["properties"].(map[string]any)["examples"]; !ok {
		t.Fatal("a property named examples was stripped")
	}
	src := out["info"].(map[string]any)["x-subset-of"].(map[string]any)
	if src["package"] != "pkg@1" || src["sha256"] != "abc" {
		t.Fatalf("source = %v", src)
	}
}

func TestExtractMissingOperation(t *testing.T) {
	_, err := Extract(doc(), []string{"x/get-a", "x/nope"}, Source{})
	if err == nil || !strings.Contains(err.Error(), "x/nope") {
		t.Fatalf("err = %v, want one naming x/nope", err)
	}
}
