package webhook

import (
	"context"
	"log/slog"
	"strings"
)

// RedactingHandler scrubs secrets from every log record before it is
// written: the configured secrets by value, and anything shaped like a
// GitHub token or a JWT. The code never logs a credential on purpose;
// this catches one smuggled in by an error message from a library.
type RedactingHandler struct {
	next    slog.Handler
	secrets []string
}

// NewRedactingHandler wraps next. Secrets shorter than 8 characters are
// ignored: scrubbing them would mangle ordinary words.
func NewRedactingHandler(next slog.Handler, secrets ...string) *RedactingHandler {
	h := &RedactingHandler{next: next}
	for _, s := range secrets {
		for _, line := range strings.Split(s, "\n") {
			line = strings.TrimSpace(line)
			// A PEM key is scrubbed line by line, so that a fragment of it
			// is caught too; its BEGIN and END lines are not secret.
			if len(line) >= 8 && !strings.HasPrefix(line, "-----") {
				h.secrets = append(h.secrets, line)
			}
		}
	}
	return h
}

// Enabled implements slog.Handler.
func (h *RedactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

// Handle implements slog.Handler.
func (h *RedactingHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.redact(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h *RedactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = h.attr(a)
	}
	return &RedactingHandler{next: h.next.WithAttrs(clean), secrets: h.secrets}
}

// WithGroup implements slog.Handler.
func (h *RedactingHandler) WithGroup(name string) slog.Handler {
	return &RedactingHandler{next: h.next.WithGroup(name), secrets: h.secrets}
}

func (h *RedactingHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.redact(v.String()))
	case slog.KindGroup:
		g := v.Group()
		clean := make([]any, len(g))
		for i, ga := range g {
			clean[i] = h.attr(ga)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, h.redact(x.Error()))
		case []string:
			clean := make([]string, len(x))
			for i, s := range x {
				clean[i] = h.redact(s)
			}
			return slog.Any(a.Key, clean)
		}
		return slog.String(a.Key, h.redact(v.String()))
	}
	return slog.Attr{Key: a.Key, Value: v}
}

const redacted = "[redacted]"

// tokenPrefixes are GitHub's credential prefixes: installation (ghs_),
// user-to-server (ghu_), OAuth (gho_), personal (ghp_, github_pat_) and
// refresh (ghr_) tokens.
var tokenPrefixes = []string{"ghs_", "ghu_", "gho_", "ghp_", "ghr_", "github_pat_"}

func (h *RedactingHandler) redact(s string) string {
	for _, secret := range h.secrets {
		if strings.Contains(s, secret) {
			s = strings.ReplaceAll(s, secret, redacted)
		}
	}
	for _, p := range tokenPrefixes {
		s = redactRuns(s, p, isTokenChar)
	}
	// A JWT is three base64url parts; its header always starts "eyJ".
	return redactRuns(s, "eyJ", func(c byte) bool { return isTokenChar(c) || c == '.' || c == '-' })
}

// redactRuns replaces every run of token characters starting with prefix.
func redactRuns(s, prefix string, in func(byte) bool) string {
	if !strings.Contains(s, prefix) {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, prefix)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := i + len(prefix)
		for j < len(s) && in(s[j]) {
			j++
		}
		b.WriteString(s[:i])
		if j-i >= len(prefix)+8 {
			b.WriteString(redacted)
		} else {
			b.WriteString(s[i:j])
		}
		s = s[j:]
	}
}

func isTokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}
