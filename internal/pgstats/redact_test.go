package pgstats

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestRedactURL(t *testing.T) {
	cases := []struct{ in, want string }{
		{"postgres://alice:s3cret@db.internal:5432/shop?sslmode=require", "postgres://alice@db.internal:5432/shop?sslmode=require"},
		{"postgresql://alice:p%40ss%2Fword@db/shop", "postgresql://alice@db/shop"},
		{"postgres://alice:p@ss@db/shop", "postgres://alice@db/shop"},
		{"postgres://alice@db/shop?password=s3cret&sslmode=disable", "postgres://alice@db/shop?sslmode=disable"},
		{"postgres://alice@db/shop?sslpassword=keypass", "postgres://alice@db/shop"},
		{"postgres://db/shop", "postgres://db/shop"},
		{"postgres://alice:s3cret@db1:5432,db2:5433/shop?target_session_attrs=read-write", "postgres://alice@db1:5432,db2:5433/shop?target_session_attrs=read-write"},
		{"postgres://alice:s3cret@db:notaport/shop", unparseable},
		{"host=db user=alice password=s3cret dbname=shop", "host=db user=alice dbname=shop"},
		{"host=db password='s3 cret\\'s' dbname=shop", "host=db dbname=shop"},
		{"password = s3cret host = db", "host=db"},
		{"host=db application_name='my app' sslpassword=k", "host=db application_name='my app'"},
		{"host=db password='unterminated", unparseable},
		{"host=db password", unparseable},
		{"", ""},
	}
	for _, c := range cases {
		if got := RedactURL(c.in); got != c.want {
			t.Errorf("RedactURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestScrubber(t *testing.T) {
	t.Setenv("PGPASSWORD", "from-the-env")
	cases := []struct {
		conn    string
		secrets []string
	}{
		{"postgres://alice:s3cret@db/shop", []string{"s3cret"}},
		{"postgres://alice:p%40ss%2Fword@db/shop", []string{"p@ss/word", "p%40ss%2Fword"}},
		{"postgres://alice@db/shop?password=q%26uery", []string{"q&uery", "q%26uery"}},
		{"host=db password='s3 cret\\'s'", []string{"s3 cret's", `'s3 cret\'s'`}},
		{"postgres://alice:s3cret@db:notaport/shop", []string{"s3cret"}},
		{"postgres://alice@db/shop", []string{"from-the-env"}},
	}
	for _, c := range cases {
		scrub := scrubber(c.conn)
		for _, sec := range c.secrets {
			msg := fmt.Sprintf("failed with %s while using %s", sec, c.conn)
			got := scrub(msg)
			if strings.Contains(got, sec) {
				t.Errorf("scrub(%q) for %q = %q: still has %q", msg, c.conn, got, sec)
			}
		}
	}
}

// Errors from the driver pass through wrap, whatever they quote.
func TestWrapScrubsDriverErrors(t *testing.T) {
	const conn = "postgres://alice:Pa55-word@db.internal/shop"
	s := &session{scrub: scrubber(conn), where: RedactURL(conn)}
	ctx := context.Background()

	// A driver error echoing the whole connection string.
	err := s.wrap(ctx, "connect", fmt.Errorf("cannot parse `%s`: bad", conn))
	if strings.Contains(err.Error(), "Pa55-word") || !strings.Contains(err.Error(), "postgres://alice@db.internal/shop") {
		t.Errorf("wrap(echo) = %q", err)
	}
	// Nothing of the driver's error can be reached through the result.
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		t.Error("wrapped error unwraps to the driver's error")
	}

	// A server error of a class that can quote row values keeps its code
	// only.
	err = s.wrap(ctx, "probe", &pgconn.PgError{Code: "22P02", Message: `invalid input syntax for type numeric: "ROW-VALUE"`, Detail: "Failing row contains (ROW-VALUE)."})
	if strings.Contains(err.Error(), "ROW-VALUE") || !strings.Contains(err.Error(), "SQLSTATE 22P02") {
		t.Errorf("wrap(22P02) = %q", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.SQLState() != "22P02" {
		t.Errorf("SQLState lost: %#v", err)
	}
	// Errors that only name objects keep their message.
	err = s.wrap(ctx, "probe", &pgconn.PgError{Code: "42703", Message: `column "nope" does not exist`})
	if !strings.Contains(err.Error(), `column "nope" does not exist`) {
		t.Errorf("wrap(42703) = %q", err)
	}
	// A statement timeout is recognisable; a cancelled context is not a
	// statement timeout.
	err = s.wrap(ctx, "probe", &pgconn.PgError{Code: "57014", Message: "canceling statement due to statement timeout"})
	if !IsStatementTimeout(err) || !strings.Contains(err.Error(), "statement timeout") {
		t.Errorf("wrap(57014) = %q", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err = s.wrap(cctx, "probe", &pgconn.PgError{Code: "57014", Message: "canceling statement due to user request"})
	if IsStatementTimeout(err) || !errors.Is(err, context.Canceled) {
		t.Errorf("wrap(57014, cancelled) = %q", err)
	}
	// Wrapping twice keeps the first.
	if again := s.wrap(ctx, "outer", err); again != err {
		t.Errorf("wrap(wrap(err)) = %q", again)
	}
}
