// Package pgtest gives tests a throwaway database on the local PostgreSQL
// server (127.0.0.1:5432, trust authentication), dropped when the test ends.
// A server that cannot be reached fails the test loudly: CI starts one, and a
// skipped database test checks nothing.
//
// MIGRATION_GUARD_TEST_PG, when set, is the URL of the maintenance database
// to use instead, for a server elsewhere or one that wants a password; the
// scratch databases are reached through the same URL with their own name.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// AdminURL connects to the server's maintenance database, for what a
// database of its own cannot hold, such as roles.
var AdminURL = adminURL()

func adminURL() string {
	if u := os.Getenv("MIGRATION_GUARD_TEST_PG"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// Scratch creates a database, runs setup in it, and returns its URL.
func Scratch(t testing.TB, setup ...string) string {
	t.Helper()
	return scratch(t, "", setup)
}

func scratch(t testing.TB, from string, setup []string) string {
	t.Helper()
	ctx := context.Background()
	u, err := url.Parse(AdminURL)
	if err != nil || u.Scheme == "" {
		t.Fatal("MIGRATION_GUARD_TEST_PG must be a postgres:// URL")
	}
	admin, err := pgx.Connect(ctx, AdminURL)
	if err != nil {
		t.Fatalf("PostgreSQL must run on 127.0.0.1:5432 for this test (.ci/run starts it): %v", err)
	}
	defer admin.Close(ctx)
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	name := "mg_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, strings.TrimSpace("CREATE DATABASE "+name+" "+from)); err != nil {
		t.Fatalf("creating a scratch database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), AdminURL)
		if err != nil {
			t.Errorf("dropping %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	db, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	for _, q := range setup {
		if _, err := db.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return u.String()
}

// ScratchFrom creates a database as a copy of the scratch database at
// template (made by Scratch, with nobody connected to it), runs setup in
// it, and returns its URL: many tests on one schema with rows pay for
// building it once.
func ScratchFrom(t testing.TB, template string, setup ...string) string {
	t.Helper()
	tu, err := url.Parse(template)
	if err != nil {
		t.Fatalf("template URL: %v", err)
	}
	return scratch(t, "TEMPLATE "+pgx.Identifier{tu.Path[1:]}.Sanitize(), setup)
}
