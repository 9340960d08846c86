// Package subset cuts an OpenAPI 3.0 document, held as decoded JSON, down
// to a list of operations and the components they reach through $ref.
package subset

import (
	"fmt"
	"sort"
	"strings"
)

// Source identifies the full description a subset was cut from; it is
// written into the subset's info so a reader can tell which GitHub
// contract the tests run against.
type Source struct {
	Package string // npm package and version, e.g. @octokit/openapi@23.0.2
	File    string // path of the description inside the package
	SHA256  string // checksum of the uncompressed description
}

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// Extract returns a new document holding only the operations whose
// operationId is in ops, every component they reference (transitively),
// and the source recorded under info.x-subset-of. Media-type "examples"
// are dropped: they are documentation, the validator never reads them,
// and they are most of the description's size.
func Extract(doc map[string]any, ops []string, src Source) (map[string]any, error) {
	want := map[string]bool{}
	for _, id := range ops {
		want[id] = true
	}
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("document has no paths object")
	}
	found := map[string]bool{}
	outPaths := map[string]any{}
	for p, rawItem := range paths {
		item, ok := rawItem.(map[string]any)
		if !ok {
			continue
		}
		var kept map[string]any
		for _, m := range methods {
			op, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			id, _ := op["operationId"].(string)
			if !want[id] {
				continue
			}
			if found[id] {
				return nil, fmt.Errorf("operation %s appears twice", id)
			}
			found[id] = true
			if kept == nil {
				kept = map[string]any{}
				// Path-level fields apply to every operation under the path.
				for k, v := range item {
					if !isMethod(k) {
						kept[k] = v
					}
				}
			}
			kept[m] = op
		}
		if kept != nil {
			outPaths[p] = kept
		}
	}
	var missing []string
	for _, id := range ops {
		if !found[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("operations not in the description: %s", strings.Join(missing, ", "))
	}

	stripExamples(outPaths)
	components, _ := doc["components"].(map[string]any)
	outComponents := map[string]any{}
	queue := collectRefs(outPaths, nil)
	seen := map[string]bool{}
	for len(queue) > 0 {
		ref := queue[0]
		queue = queue[1:]
		if seen[ref] {
			continue
		}
		seen[ref] = true
		section, name, err := splitRef(ref)
		if err != nil {
			return nil, err
		}
		sec, _ := components[section].(map[string]any)
		target, ok := sec[name]
		if !ok {
			return nil, fmt.Errorf("dangling reference %s", ref)
		}
		stripExamples(target)
		out, _ := outComponents[section].(map[string]any)
		if out == nil {
			out = map[string]any{}
			outComponents[section] = out
		}
		out[name] = target
		queue = collectRefs(target, queue)
	}

	info := map[string]any{}
	if in, ok := doc["info"].(map[string]any); ok {
		for k, v := range in {
			info[k] = v
		}
	}
	info["x-subset-of"] = map[string]any{
		"package":         src.Package,
		"file":            src.File,
		"sha256":          src.SHA256,
		"operations":      sortedKeys(found),
		"dropped":         "media-type examples",
		"regenerate-with": "scripts/extract-openapi.sh",
	}
	out := map[string]any{
		"openapi":    doc["openapi"],
		"info":       info,
		"paths":      outPaths,
		"components": outComponents,
	}
	if s, ok := doc["servers"]; ok {
		out["servers"] = s
	}
	return out, nil
}

func isMethod(k string) bool {
	for _, m := range methods {
		if k == m {
			return true
		}
	}
	return false
}

func splitRef(ref string) (section, name string, err error) {
	const prefix = "#/components/"
	if !strings.HasPrefix(ref, prefix) {
		return "", "", fmt.Errorf("reference %q is not local to components", ref)
	}
	rest := strings.TrimPrefix(ref, prefix)
	section, name, ok := strings.Cut(rest, "/")
	if !ok || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("reference %q does not name one component", ref)
	}
	// JSON Pointer escapes; GitHub's names do not use them today, but a
	// future description might.
	name = strings.ReplaceAll(strings.ReplaceAll(name, "~1", "/"), "~0", "~")
	return section, name, nil
}

func collectRefs(v any, acc []string) []string {
	switch x := v.(type) {
	case map[string]any:
		if r, ok := x["$ref"].(string); ok {
			acc = append(acc, r)
		}
		for _, k := range sortedKeys(x) {
			acc = collectRefs(x[k], acc)
		}
	case []any:
		for _, e := range x {
			acc = collectRefs(e, acc)
		}
	}
	return acc
}

// stripExamples removes "examples" maps of media types and parameters.
// Schemas never carry "examples" in OpenAPI 3.0, so removing the key
// everywhere is safe; a schema property literally named "examples" sits
// under "properties" and is kept.
func stripExamples(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == "properties" {
				if props, ok := e.(map[string]any); ok {
					for _, p := range props {
						stripExamples(p)
					}
				}
				continue
			}
			if k == "examples" {
				delete(x, k)
				continue
			}
			stripExamples(e)
		}
	case []any:
		for _, e := range x {
			stripExamples(e)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
