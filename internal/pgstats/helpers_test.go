package pgstats

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/migration-guard/migration-guard/internal/pgtest"
)

func randomName(prefix string) string {
	buf := make([]byte, 6)
	if _, err := rand.Read(buf); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(buf)
}

// testDB is a throwaway database with a random name, dropped when the test
// ends. The tests need the PostgreSQL 15 that development machines and CI
// run.
type testDB struct {
	name string
	u    *url.URL
	conn *pgx.Conn
}

func (d *testDB) url() string { return d.u.String() }

func (d *testDB) urlAs(role string) string {
	u := *d.u
	u.User = url.User(role)
	return u.String()
}

func newTestDB(t testing.TB) *testDB {
	t.Helper()
	u, err := url.Parse(pgtest.Scratch(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return &testDB{name: strings.TrimPrefix(u.Path, "/"), u: u, conn: conn}
}

func (d *testDB) exec(t testing.TB, sqls ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for _, q := range sqls {
		if _, err := d.conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func (d *testDB) int64(t testing.TB, q string, args ...any) int64 {
	t.Helper()
	var v int64
	if err := d.conn.QueryRow(context.Background(), q, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

// newRole creates a login role, dropped when the test ends. Its privileges
// in d and on d itself are revoked first, or the role could not be dropped.
func newRole(t testing.TB, d *testDB, attrs string) string {
	t.Helper()
	role := randomName("mg_role_")
	d.exec(t, "CREATE ROLE "+role+" LOGIN "+attrs)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := d.conn.Exec(ctx, "DROP OWNED BY "+role); err != nil {
			t.Errorf("drop owned by %s: %v", role, err)
		}
		admin, err := pgx.Connect(ctx, pgtest.AdminURL)
		if err != nil {
			t.Errorf("drop role %s: %v", role, err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP ROLE IF EXISTS "+role); err != nil {
			t.Errorf("drop role %s: %v", role, err)
		}
	})
	return role
}

// assertNoneOf fails when any of secrets appears in the JSON of v or in
// the text of err.
func assertNoneOf(t testing.TB, what string, v any, err error, secrets ...string) {
	t.Helper()
	var text string
	if v != nil {
		b, jerr := json.Marshal(v)
		if jerr != nil {
			t.Fatal(jerr)
		}
		text = string(b)
	}
	if err != nil {
		text += "\n" + err.Error() + "\n" + fmt.Sprintf("%+v %#v", err, err)
	}
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s reveals %q:\n%s", what, s, text)
		}
	}
}
