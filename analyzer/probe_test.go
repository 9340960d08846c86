package analyzer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

// countingProbe answers from a table of counts and records every question,
// so the test checks what the analyzer asks and what it makes of the answer.
type countingProbe struct {
	counts map[string]ProbeCount
	asked  []string
	fail   error
}

func (p *countingProbe) answer(q string) (ProbeCount, error) {
	p.asked = append(p.asked, q)
	if p.fail != nil {
		return ProbeCount{}, p.fail
	}
	return p.counts[q], nil
}

func (p *countingProbe) LongerThan(_ context.Context, t TableName, column string, n int) (ProbeCount, error) {
	return p.answer(fmt.Sprintf("longer %s.%s.%s %d", t.Schema, t.Name, column, n))
}
func (p *countingProbe) OutOfRange(_ context.Context, t TableName, column, min, max string) (ProbeCount, error) {
	return p.answer(fmt.Sprintf("range %s.%s.%s %s %s", t.Schema, t.Name, column, min, max))
}
func (p *countingProbe) Nulls(_ context.Context, t TableName, column string) (ProbeCount, error) {
	return p.answer(fmt.Sprintf("nulls %s.%s.%s", t.Schema, t.Name, column))
}
func (p *countingProbe) DuplicateGroups(_ context.Context, t TableName, columns []string) (ProbeCount, error) {
	return p.answer(fmt.Sprintf("dups %s.%s %s", t.Schema, t.Name, strings.Join(columns, ",")))
}
func (p *countingProbe) Orphans(_ context.Context, t TableName, columns []string, ref TableName, refColumns []string) (ProbeCount, error) {
	return p.answer(fmt.Sprintf("orphans %s.%s %s -> %s.%s %s", t.Schema, t.Name, strings.Join(columns, ","), ref.Schema, ref.Name, strings.Join(refColumns, ",")))
}
func (p *countingProbe) ViolatingCheck(_ context.Context, t TableName, expr string) (ProbeCount, error) {
	return p.answer(fmt.Sprintf("check %s.%s %s", t.Schema, t.Name, expr))
}

func analyzeWithProbe(t *testing.T, body string, p DataProbe) *Report {
	t.Helper()
	base := fstest.MapFS{}
	head := fstest.MapFS{}
	for k, v := range shopBase {
		base[k] = &fstest.MapFile{Data: []byte(v)}
		head[k] = &fstest.MapFile{Data: []byte(v)}
	}
	head[next] = &fstest.MapFile{Data: []byte(goose(body))}
	rep, err := Analyze(context.Background(), Request{Base: base, Head: head, Changed: []string{next}, Config: DefaultConfig(), Probe: p})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestDataProbes(t *testing.T) {
	tests := []struct {
		body  string
		rule  string
		ask   string
		count ProbeCount
		says  string
	}{
		{"ALTER TABLE customers ALTER COLUMN name TYPE varchar(50);", "type-narrowing", "longer public.customers.name 50",
			ProbeCount{N: 14, Exact: true}, "production data: 14 rows longer than 50 characters (exact count): this ALTER fails"},
		{"ALTER TABLE customers ALTER COLUMN name TYPE varchar(50) USING name::varchar(50);", "type-narrowing", "longer public.customers.name 50",
			ProbeCount{N: 3, Exact: true}, "they would be cut to 50 characters"},
		{"ALTER TABLE reporting.daily ALTER COLUMN total TYPE integer;", "type-narrowing", "range reporting.daily.total -2147483648 2147483647",
			ProbeCount{N: 0, Exact: true}, "0 rows outside -2147483648..2147483647, so it will not fail on today's data"},
		{"ALTER TABLE orders ALTER COLUMN note SET NOT NULL;", "set-not-null", "nulls public.orders.note",
			ProbeCount{N: 120, Exact: false, Sampled: true, Percent: 0.5}, "about 120 rows with NULL in note (0.50% of a sample: an estimate)"},
		{"ALTER TABLE customers ADD CONSTRAINT customers_name_key UNIQUE (name);", "add-unique-constraint", "dups public.customers name",
			ProbeCount{N: 2, Exact: true}, "2 groups of rows with the same (name)"},
		{"ALTER TABLE orders ADD CONSTRAINT c2 FOREIGN KEY (customer_id) REFERENCES customers;", "add-foreign-key", "orphans public.orders customer_id -> public.customers id",
			ProbeCount{N: 7, Exact: true}, "7 rows pointing at a missing public.customers row"},
		{"ALTER TABLE orders ADD CONSTRAINT c3 CHECK (length(note) < 10);", "add-check-constraint", "check public.orders length(note) < 10",
			ProbeCount{N: 1, Exact: true}, "1 rows that break the CHECK"},
	}
	for _, tt := range tests {
		t.Run(tt.rule+" "+tt.ask, func(t *testing.T) {
			p := &countingProbe{counts: map[string]ProbeCount{tt.ask: tt.count}}
			rep := analyzeWithProbe(t, tt.body, p)
			if strings.Join(p.asked, "|") != tt.ask {
				t.Errorf("asked %q, want %q", p.asked, tt.ask)
			}
			f := findingOf(t, rep, tt.rule)
			if !strings.Contains(f.Message, tt.says) {
				t.Errorf("message lacks %q:\n%s", tt.says, f.Message)
			}
		})
	}
}

func TestDataProbeFailureIsSaid(t *testing.T) {
	p := &countingProbe{fail: errors.New("canceling statement due to statement timeout")}
	rep := analyzeWithProbe(t, "ALTER TABLE orders ALTER COLUMN note SET NOT NULL;", p)
	f := findingOf(t, rep, "set-not-null")
	if !strings.Contains(f.Message, "the data probe could not count rows with NULL in note: canceling statement due to statement timeout") {
		t.Errorf("message: %s", f.Message)
	}
	// Without a probe, nothing is asked and nothing is claimed.
	rep = analyzeWithProbe(t, "ALTER TABLE orders ALTER COLUMN note SET NOT NULL;", nil)
	if f := findingOf(t, rep, "set-not-null"); strings.Contains(f.Message, "production data") {
		t.Errorf("a claim about data without a probe: %s", f.Message)
	}
}
