package sqlscript

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/migration-guard/migration-guard/analyzer/pgtree"
)

// VariableForm is how a psql variable is interpolated.
type VariableForm string

const (
	// VarText is :name: the value is pasted as it is, as SQL text (an
	// identifier, a number, a keyword, or any fragment).
	VarText VariableForm = "text"
	// VarLiteral is :'name': the value becomes a quoted string literal.
	VarLiteral VariableForm = "literal"
	// VarIdentifier is :"name": the value becomes a quoted identifier.
	VarIdentifier VariableForm = "identifier"
)

// Variable is a reference to a psql variable in a statement. psql replaces
// it with the variable's value (psql -v name=value, or \set) before the
// server sees the statement; the value is not in the file.
type Variable struct {
	Start, End int // byte range in the file's text, the colon included
	Name       string
	Form       VariableForm
	// Placeholder is the text, of the reference's length, that the parser
	// was given in its place: ":name" as a string literal or a quoted
	// identifier, _name for a text interpolation.
	Placeholder string
}

// String is the reference as written.
func (v Variable) String() string {
	switch v.Form {
	case VarLiteral:
		return ":'" + v.Name + "'"
	case VarIdentifier:
		return `:"` + v.Name + `"`
	}
	return ":" + v.Name
}

// Named reports whether the value stands for a name: always for :"name", and
// for :name, which pastes SQL text, whenever it is not a quoted literal.
func (v Variable) Named() bool { return v.Form != VarLiteral }

// isVariableChar is psql's variable_char (psqlscan.l): ASCII letters,
// digits, underscore and any byte of a multi-byte character.
func isVariableChar(c byte) bool {
	return c == '_' || c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func isVariableName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isVariableChar(s[i]) {
			return false
		}
	}
	return true
}

// interpolateVariables finds psql variable references with PostgreSQL's own
// scanner: a ':' token immediately followed by an identifier or keyword
// (:name), a string constant ('name', making :'name') or a quoted identifier
// ("name", making :"name"). PostgreSQL's grammar has a lone ':' only in
// array slices (a[1:n]), so a :name inside a subscript is read as a slice
// bound, as psql leaves it when the variable is not set (inside ARRAY[...] it
// is a variable). '::' casts and ':=' are tokens of
// their own and never match. Strings, dollar quotes and comments are single
// tokens, so nothing inside them is touched, as psql does not touch them.
//
// Each reference is replaced, length for length so that every offset holds,
// by a placeholder the parser accepts; the variables are returned with
// offsets relative to part.
func interpolateVariables(part string, toks []pgtree.Token) (string, []Variable) {
	var vars []Variable
	// The brackets the scanner is in: true for an ARRAY[...] constructor,
	// whose elements are expressions, false for a subscript, where a[lo:hi]
	// is a slice.
	var brackets []bool
	inSubscript := func() bool { return len(brackets) > 0 && !brackets[len(brackets)-1] }
	for i, t := range toks {
		switch t.GetToken() {
		case pg_query.Token_ASCII_91: // [
			brackets = append(brackets, i > 0 && toks[i-1].GetToken() == pg_query.Token_ARRAY)
			continue
		case pg_query.Token_ASCII_93: // ]
			if len(brackets) > 0 {
				brackets = brackets[:len(brackets)-1]
			}
			continue
		case pg_query.Token_ASCII_58: // :
		default:
			continue
		}
		if i+1 >= len(toks) || toks[i+1].GetStart() != t.GetEnd() {
			continue
		}
		next := toks[i+1]
		s, e := int(t.GetStart()), int(next.GetEnd())
		text := part[next.GetStart():next.GetEnd()]
		v := Variable{Start: s, End: e}
		switch {
		case next.GetToken() == pg_query.Token_SCONST && len(text) >= 3 && text[0] == '\'' && text[len(text)-1] == '\'' && isVariableName(text[1:len(text)-1]):
			v.Name, v.Form = text[1:len(text)-1], VarLiteral
			v.Placeholder = "':" + v.Name + "'"
		case next.GetToken() == pg_query.Token_IDENT && len(text) >= 3 && text[0] == '"' && text[len(text)-1] == '"' && isVariableName(text[1:len(text)-1]):
			v.Name, v.Form = text[1:len(text)-1], VarIdentifier
			v.Placeholder = `":` + v.Name + `"`
		case !inSubscript() && text[0] != '\'' && text[0] != '"' && (text[0] < '0' || text[0] > '9') && isVariableName(text):
			// An identifier or a keyword token: psql takes the longest run
			// of variable characters, which is the whole token here.
			v.Name, v.Form = text, VarText
			v.Placeholder = "_" + v.Name
		default:
			continue
		}
		vars = append(vars, v)
	}
	if len(vars) == 0 {
		return part, nil
	}
	b := []byte(part)
	for _, v := range vars {
		copy(b[v.Start:v.End], v.Placeholder)
	}
	return string(b), vars
}

// variablesIn returns the variables whose reference lies in [s,e).
func variablesIn(vars []Variable, s, e int) []Variable {
	var out []Variable
	for _, v := range vars {
		if v.Start >= s && v.Start < e {
			out = append(out, v)
		}
	}
	return out
}

// PlaceholderName is the name the parser saw for a variable that stands for
// a name: what the catalog and the rules call the object.
func (v Variable) PlaceholderName() string {
	return strings.Trim(v.Placeholder, `"'`)
}
