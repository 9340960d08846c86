package sqlscript

import (
	"reflect"
	"testing"
)

func TestPsqlVariables(t *testing.T) {
	tests := []struct {
		name string
		text string
		// want lists, per statement, its variables as written.
		want [][]string
		// kinds is the parse tree kind of each statement ("" would be a
		// syntax error).
		parses []bool
	}{
		{
			name:   "the three forms parse and are recorded",
			text:   "DROP TABLE :tbl;\nALTER ROLE app PASSWORD :'pass';\nCREATE SCHEMA :\"schema_name\";\nSELECT * FROM :schema.users WHERE id = :id;\n",
			want:   [][]string{{":tbl"}, {":'pass'"}, {`:"schema_name"`}, {":schema", ":id"}},
			parses: []bool{true, true, true, true},
		},
		{
			name:   "casts, slices, strings, dollar quotes and comments are not variables",
			text:   "SELECT x::int, a[1:n], a[lo:hi], ':x', $$ :y $$, \":z\" FROM t; -- :c\n/* :d */ SELECT 1;\nDO $$ DECLARE v int; BEGIN v := 1; END $$;\n",
			want:   [][]string{nil, nil, nil},
			parses: []bool{true, true, true},
		},
		{
			name:   "inside an ARRAY constructor they are variables",
			text:   "SELECT ARRAY[:'a', :b];\n",
			want:   [][]string{{":'a'", ":b"}},
			parses: []bool{true},
		},
		{
			name:   "a syntax error elsewhere still leaves each statement its own variables",
			text:   "CREATE TABLE :\"t\" (id int);\nALTER TABLE x ADD COLUM y int;\nDELETE FROM :t WHERE id = :'id';\n",
			want:   [][]string{{`:"t"`}, nil, {":t", ":'id'"}},
			parses: []bool{true, false, true},
		},
		{
			name:   "a space after the colon is not a variable: the server rejects it",
			text:   "SELECT : x;\n",
			want:   [][]string{nil},
			parses: []bool{false},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := Split(tc.text, 0, len(tc.text))
			if len(sc.Statements) != len(tc.want) {
				t.Fatalf("%d statements, want %d: %+v", len(sc.Statements), len(tc.want), sc.Statements)
			}
			for i, st := range sc.Statements {
				var got []string
				for _, v := range st.Variables {
					got = append(got, v.String())
					if tc.text[v.Start:v.End] != v.String() {
						t.Errorf("statement %d: variable %s at [%d,%d) is %q in the text", i, v, v.Start, v.End, tc.text[v.Start:v.End])
					}
					if len(v.Placeholder) != v.End-v.Start {
						t.Errorf("placeholder %q changes the length of %s", v.Placeholder, v)
					}
				}
				if !reflect.DeepEqual(got, tc.want[i]) {
					t.Errorf("statement %d %q: variables %q, want %q", i, st.SQL, got, tc.want[i])
				}
				if parses := st.Node != nil; parses != tc.parses[i] {
					t.Errorf("statement %d %q: parses %v, want %v (%v)", i, st.SQL, parses, tc.parses[i], st.ParseError)
				}
				if st.SQL != tc.text[st.Start:st.End] {
					t.Errorf("statement %d: SQL %q is not the text as written", i, st.SQL)
				}
			}
		})
	}
}

// TestPsqlVariablePlaceholders: what the parse tree holds in place of each
// form, so that findings name the variable.
func TestPsqlVariablePlaceholders(t *testing.T) {
	text := "DROP TABLE :\"t\", :u;\n"
	sc := Split(text, 0, len(text))
	if len(sc.Statements) != 1 || sc.Statements[0].Node == nil {
		t.Fatalf("%+v", sc.Statements)
	}
	objs := sc.Statements[0].Node.GetDropStmt().GetObjects()
	var names []string
	for _, o := range objs {
		for _, it := range o.GetList().GetItems() {
			names = append(names, it.GetString_().GetSval())
		}
	}
	if want := []string{":t", "_u"}; !reflect.DeepEqual(names, want) {
		t.Errorf("parse tree names %q, want %q", names, want)
	}
	vs := sc.Statements[0].Variables
	if len(vs) != 2 || vs[0].PlaceholderName() != ":t" || !vs[0].Named() || vs[1].PlaceholderName() != "_u" || vs[1].Form != VarText {
		t.Errorf("variables %+v", vs)
	}
}
