package pgstats

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"os"
	"sort"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// unparseable stands in for a connection string that cannot be parsed: its
// password cannot be located, so none of it is shown.
const unparseable = "(connection string not shown: it could not be parsed)"

// mask replaces a password in error texts.
const mask = "xxxxx"

// passwordKeys are the connection parameters that hold secrets: the
// password itself and the passphrase of the client key.
var passwordKeys = map[string]bool{"password": true, "sslpassword": true}

// RedactURL returns the connection string without its passwords, for
// messages and logs: the password of a URL's userinfo, password= and
// sslpassword= query parameters, and the same keywords of a keyword/value
// string. A string it cannot parse is replaced whole, since its password
// cannot be told apart from the rest.
func RedactURL(connString string) string {
	if isURL(connString) {
		u, err := url.Parse(connString)
		if err != nil {
			return unparseable
		}
		if u.User != nil {
			u.User = url.User(u.User.Username())
		}
		q := u.Query()
		changed := false
		for k := range q {
			if passwordKeys[k] {
				q.Del(k)
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	pairs, err := parseKeywordValue(connString)
	if err != nil {
		return unparseable
	}
	var b strings.Builder
	for _, p := range pairs {
		if passwordKeys[p.key] {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p.key)
		b.WriteByte('=')
		b.WriteString(quoteValue(p.value))
	}
	return b.String()
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// kv is one keyword/value pair; raw is the value as written, quotes and
// escapes included.
type kv struct{ key, value, raw string }

// parseKeywordValue reads a libpq keyword/value connection string, with
// libpq's quoting: single-quoted values, backslash escapes.
func parseKeywordValue(s string) ([]kv, error) {
	var out []kv
	const space = " \t\n\r\v\f"
	s = strings.TrimLeft(s, space)
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return nil, errMalformed
		}
		key := strings.TrimRight(s[:eq], space)
		if key == "" || strings.ContainsAny(key, space) {
			return nil, errMalformed
		}
		s = strings.TrimLeft(s[eq+1:], space)
		before := s
		var val strings.Builder
		if strings.HasPrefix(s, "'") {
			s = s[1:]
			closed := false
			for len(s) > 0 {
				c := s[0]
				s = s[1:]
				if c == '\\' {
					if s == "" {
						return nil, errMalformed
					}
					val.WriteByte(s[0])
					s = s[1:]
					continue
				}
				if c == '\'' {
					closed = true
					break
				}
				val.WriteByte(c)
			}
			if !closed {
				return nil, errMalformed
			}
		} else {
			for len(s) > 0 && !strings.ContainsRune(space, rune(s[0])) {
				c := s[0]
				s = s[1:]
				if c == '\\' && s != "" {
					c = s[0]
					s = s[1:]
				}
				val.WriteByte(c)
			}
		}
		out = append(out, kv{key, val.String(), before[:len(before)-len(s)]})
		s = strings.TrimLeft(s, space)
	}
	return out, nil
}

type malformedError struct{}

func (malformedError) Error() string { return "malformed keyword/value connection string" }

var errMalformed error = malformedError{}

func quoteValue(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\n\r\v\f'\\") {
		return v
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// secretsOf lists every form a password of connString can take in a
// message: as written (percent-encoded or quoted), decoded, and the one the
// driver would really use, which may come from PGPASSWORD or a password
// file.
func secretsOf(connString string) []string {
	var out []string
	add := func(s string) {
		if s != "" {
			out = append(out, s)
		}
	}
	if isURL(connString) {
		if u, err := url.Parse(connString); err == nil {
			if u.User != nil {
				if p, ok := u.User.Password(); ok {
					add(p)
				}
			}
			for k, vs := range u.Query() {
				if passwordKeys[k] {
					for _, v := range vs {
						add(v)
						add(url.QueryEscape(v))
					}
				}
			}
		}
		// The raw userinfo password, whether or not the URL parses, so that
		// a malformed URL's password is masked as written.
		rest := strings.TrimPrefix(strings.TrimPrefix(connString, "postgresql://"), "postgres://")
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			userinfo := rest[:at]
			if colon := strings.IndexByte(userinfo, ':'); colon >= 0 {
				raw := userinfo[colon+1:]
				add(raw)
				if dec, err := url.PathUnescape(raw); err == nil {
					add(dec)
				}
			}
		}
	} else if pairs, err := parseKeywordValue(connString); err == nil {
		for _, p := range pairs {
			if passwordKeys[p.key] {
				add(p.value)
				add(p.raw)
			}
		}
	}
	if cfg, err := pgconn.ParseConfig(connString); err == nil {
		add(cfg.Password)
	}
	add(os.Getenv("PGPASSWORD"))
	// Longest first, so that a password containing another is masked whole.
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// scrubber returns a function that removes connString's passwords, and the
// connection string itself, from a text.
func scrubber(connString string) func(string) string {
	secrets := secretsOf(connString)
	redacted := RedactURL(connString)
	return func(s string) string {
		if connString != "" && connString != redacted {
			s = strings.ReplaceAll(s, connString, redacted)
		}
		for _, sec := range secrets {
			s = strings.ReplaceAll(s, sec, mask)
		}
		return s
	}
}

// PublicReason says why a connection or a probe failed in words chosen
// here, never taken from the error's text: the text names the host, the
// user and the database (RedactURL removes only passwords), which a
// pull request must not learn. The full error belongs in the service's
// log.
func PublicReason(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case !errors.As(err, &e):
		return "failed"
	case e.code != "":
		reason := "PostgreSQL refused it"
		switch {
		case strings.HasPrefix(e.code, "28"):
			reason = "authentication failed"
		case e.code == "3D000":
			reason = "the database does not exist"
		case strings.HasPrefix(e.code, "08"):
			reason = "the connection failed"
		case strings.HasPrefix(e.code, "53"):
			reason = "the server is out of resources"
		case strings.HasPrefix(e.code, "57P"):
			reason = "the server is not accepting connections now"
		}
		return reason + " (SQLSTATE " + e.code + ")"
	case e.kind != "":
		return e.kind
	}
	return "failed"
}

// failureKind names a failure below PostgreSQL in fixed words.
func failureKind(err error) string {
	var dnsErr *net.DNSError
	var netErr net.Error
	var certErr *tls.CertificateVerificationError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &dnsErr):
		return "the host name does not resolve"
	case errors.As(err, &certErr):
		return "the server's TLS certificate was not accepted"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "the connection was closed"
	}
	return "the connection failed"
}
