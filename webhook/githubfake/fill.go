package githubfake

import (
	"encoding/json"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

// GitHub's response schemas require dozens of fields per object (a
// repository has more than eighty) that no App reads. Handlers set the
// fields that carry the fake's state; fill completes the rest from the
// schema so every response still satisfies the official contract. A filled
// field holds the zero value of its type (null where nullable), never an
// invented fact.

const fillDepth = 12

// placeholderTime is what filled date-time fields hold; it is
// recognisably not a real event time.
const placeholderTime = "1970-01-01T00:00:00Z"

// toJSONValue turns handler output (structs, int64, time.Time) into the
// generic form schema validation works on.
func toJSONValue(v any) (any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding response: %w", err)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("decoding response: %w", err)
	}
	return out, nil
}

func fillValue(ref *openapi3.SchemaRef, v any, depth int) any {
	if ref == nil || ref.Value == nil || depth > fillDepth {
		return v
	}
	s := ref.Value
	if v == nil {
		return v
	}
	for _, sub := range s.AllOf {
		v = fillValue(sub, v, depth+1)
	}
	if alts := append(append(openapi3.SchemaRefs{}, s.OneOf...), s.AnyOf...); len(alts) > 0 {
		if filled, ok := fillAlternative(alts, v, depth); ok {
			v = filled
		}
	}
	switch x := v.(type) {
	case map[string]any:
		for name, prop := range s.Properties {
			if cur, ok := x[name]; ok {
				x[name] = fillValue(prop, cur, depth+1)
			}
		}
		for _, name := range s.Required {
			if _, ok := x[name]; ok {
				continue
			}
			x[name] = synthesize(s.Properties[name], depth+1)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = fillValue(s.Items, e, depth+1)
		}
		return x
	}
	return v
}

// fillAlternative fills v against the first alternative it can be made to
// satisfy, so a oneOf never ends up matching two branches because of
// filled-in fields.
func fillAlternative(alts openapi3.SchemaRefs, v any, depth int) (any, bool) {
	for _, alt := range alts {
		if alt.Value == nil || alt.Value.Type.Is("null") {
			continue
		}
		cp := deepCopy(v)
		filled := fillValue(alt, cp, depth+1)
		if alt.Value.VisitJSON(filled, openapi3.MultiErrors()) == nil {
			return filled, true
		}
	}
	return v, false
}

func synthesize(ref *openapi3.SchemaRef, depth int) any {
	if ref == nil || ref.Value == nil || depth > fillDepth {
		return nil
	}
	s := ref.Value
	if s.Nullable {
		return nil
	}
	if len(s.Enum) > 0 {
		return s.Enum[0]
	}
	if len(s.AllOf) > 0 {
		return fillValue(ref, map[string]any{}, depth)
	}
	for _, alt := range append(append(openapi3.SchemaRefs{}, s.OneOf...), s.AnyOf...) {
		if alt.Value != nil && alt.Value.Nullable {
			return nil
		}
	}
	for _, alt := range append(append(openapi3.SchemaRefs{}, s.OneOf...), s.AnyOf...) {
		if alt.Value != nil {
			return synthesize(alt, depth+1)
		}
	}
	switch {
	case s.Type.Is("string"):
		switch s.Format {
		case "date-time":
			return placeholderTime
		case "uri":
			return "https://github.invalid/"
		case "email":
			return "nobody@github.invalid"
		}
		return ""
	case s.Type.Is("integer"), s.Type.Is("number"):
		if s.Min != nil {
			return *s.Min
		}
		return 0
	case s.Type.Is("boolean"):
		return false
	case s.Type.Is("array"):
		return []any{}
	case s.Type.Is("object"), len(s.Properties) > 0:
		return fillValue(ref, map[string]any{}, depth)
	}
	return nil
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}
