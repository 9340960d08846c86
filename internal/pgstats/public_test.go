package pgstats

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/migration-guard/migration-guard/internal/pgtest"
)

// TestPublicReasonNamesNothing: why a connection failed, in words that
// name no host, port, user or database, for a real server refusing in
// each way; the full error still names them, for the service's log.
func TestPublicReasonNamesNothing(t *testing.T) {
	admin, err := url.Parse(pgtest.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	with := func(user, db string) string {
		u := *admin
		if user != "" {
			u.User = url.User(user)
		}
		u.Path = "/" + db
		return u.String()
	}
	tests := []struct {
		name, url, want string
		secret          []string
	}{
		{"no such database", with("", "no_such_db_q"), "the database does not exist (SQLSTATE 3D000)", []string{"no_such_db_q", admin.Hostname()}},
		{"no such role", with("no_such_role_q", "postgres"), "authentication failed (SQLSTATE 28000)", []string{"no_such_role_q", admin.Hostname()}},
		{"connection refused", "postgres://someone_q@127.0.0.1:1/some_db_q?connect_timeout=5", "connection refused", []string{"someone_q", "some_db_q", "127.0.0.1"}},
		{"host not found", "postgres://someone_q@no-such-host-q.invalid:5432/some_db_q?connect_timeout=5", "the host name does not resolve", []string{"someone_q", "some_db_q", "no-such-host-q"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			p, err := NewProber(ctx, tt.url, ProbeOptions{})
			if err == nil {
				p.Close()
				t.Fatal("connected")
			}
			got := PublicReason(err)
			if got != tt.want {
				t.Errorf("PublicReason = %q, want %q (error: %v)", got, tt.want, err)
			}
			for _, s := range tt.secret {
				if strings.Contains(got, s) {
					t.Errorf("%q named in %q", s, got)
				}
			}
			// The error itself keeps the detail the operator needs.
			if !strings.Contains(err.Error(), tt.secret[0]) {
				t.Errorf("the full error lost %q: %v", tt.secret[0], err)
			}
		})
	}
	if got := PublicReason(context.DeadlineExceeded); got != "timed out" {
		t.Errorf("deadline: %q", got)
	}
	if got := PublicReason(errors.New("dial tcp 10.1.2.3:5432: secret-host")); got != "failed" {
		t.Errorf("a foreign error's text came through: %q", got)
	}
}
