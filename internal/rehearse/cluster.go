package rehearse

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ClusterOptions choose the binaries of a private cluster.
type ClusterOptions struct {
	// Version is the wanted major version (postgres_version); 0 takes the
	// newest found.
	Version int
	// BinDirs are where to look for initdb and postgres; nil means PATH and
	// /usr/lib/postgresql/*/bin (Debian, Ubuntu) and
	// /usr/pgsql-*/bin (RHEL).
	BinDirs []string
	// CacheDir keeps a freshly initialized data folder, copied at the next
	// start instead of running initdb again (most of a cold start); ""
	// means the user's cache folder, "-" no cache.
	CacheDir string
}

// Binaries are one PostgreSQL installation's programs.
type Binaries struct {
	Dir     string
	Version int
}

// ErrNoBinaries says the machine has no PostgreSQL server programs.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries (initdb and postgres) found in PATH, /usr/lib/postgresql/*/bin or /usr/pgsql-*/bin: " +
	"install them (Debian, Ubuntu: apt-get install postgresql-15; RHEL: dnf install postgresql15-server; macOS: brew install postgresql@15) " +
	"or give a scratch server with --rehearsal-db URL")

// FindBinaries lists the PostgreSQL installations found, the one matching
// version first, then the newest.
func FindBinaries(opt ClusterOptions) []Binaries {
	dirs := opt.BinDirs
	if dirs == nil {
		if p, err := exec.LookPath("initdb"); err == nil {
			dirs = append(dirs, filepath.Dir(p))
		}
		for _, pat := range []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin"} {
			m, _ := filepath.Glob(pat)
			dirs = append(dirs, m...)
		}
	}
	var out []Binaries
	seen := map[string]bool{}
	for _, d := range dirs {
		if seen[d] {
			continue
		}
		seen[d] = true
		if _, err := os.Stat(filepath.Join(d, "postgres")); err != nil {
			continue
		}
		raw, err := exec.Command(filepath.Join(d, "initdb"), "--version").Output()
		if err != nil {
			continue
		}
		// "initdb (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"
		f := strings.Fields(string(raw))
		if len(f) < 3 {
			continue
		}
		major, err := strconv.Atoi(strings.SplitN(f[2], ".", 2)[0])
		if err != nil {
			continue
		}
		out = append(out, Binaries{Dir: d, Version: major})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if (out[i].Version == opt.Version) != (out[j].Version == opt.Version) {
			return out[i].Version == opt.Version
		}
		return out[i].Version > out[j].Version
	})
	return out
}

// StartCluster starts a private PostgreSQL cluster from local binaries in a
// temporary folder, listening on a Unix socket there and on no TCP port,
// and returns it as a Server; Close stops it and removes the folder. Run as
// root, where initdb refuses to start, the cluster runs as the postgres
// system account.
func StartCluster(ctx context.Context, opt ClusterOptions) (*Server, Binaries, error) {
	found := FindBinaries(opt)
	if len(found) == 0 {
		return nil, Binaries{}, ErrNoBinaries
	}
	bin := found[0]
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, bin, fmt.Errorf("running as root, where initdb refuses to start, and there is no postgres system account to run the rehearsal cluster as: create one (useradd --system postgres) or run as another user: %w", err)
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}
	}
	dir, err := os.MkdirTemp("", "mg-rehearse-")
	if err != nil {
		return nil, bin, fmt.Errorf("creating the rehearsal cluster's folder: %w", err)
	}
	cleanup := func() error { return os.RemoveAll(dir) }
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			_ = cleanup()
			return nil, bin, fmt.Errorf("giving the rehearsal cluster's folder to postgres: %w", err)
		}
	}
	data := filepath.Join(dir, "data")
	cached := ""
	if cd := cacheDir(opt.CacheDir); cd != "" {
		cached = filepath.Join(cd, fmt.Sprintf("pgdata-%d-%x", bin.Version, sha256.Sum256([]byte(bin.Dir))))
	}
	fromCache := false
	if cached != "" {
		if _, err := os.Stat(filepath.Join(cached, "PG_VERSION")); err == nil {
			fromCache = copyTree(cached, data, cred) == nil
			if !fromCache {
				_ = os.RemoveAll(data)
			}
		}
	}
	if !fromCache {
		initdb := exec.CommandContext(ctx, filepath.Join(bin.Dir, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
		initdb.Dir = dir
		initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if out, err := initdb.CombinedOutput(); err != nil {
			_ = cleanup()
			return nil, bin, fmt.Errorf("initdb of the rehearsal cluster: %w: %s", err, lastLines(out, 5))
		}
		if cached != "" {
			// Best effort: a cache that cannot be written only costs the
			// next start an initdb.
			tmp := cached + ".tmp-" + randomHex(4)
			if err := os.MkdirAll(filepath.Dir(cached), 0o700); err == nil && copyTree(data, tmp, nil) == nil {
				if os.Rename(tmp, cached) != nil {
					_ = os.RemoveAll(tmp)
				}
			} else {
				_ = os.RemoveAll(tmp)
			}
		}
	}
	port := 20000 + int(time.Now().UnixNano()%30000)
	var logBuf bytes.Buffer
	pg := exec.Command(filepath.Join(bin.Dir, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", dir,
		"-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=20", "-c", "shared_buffers=32MB", "-c", "autovacuum=off", "-c", "log_min_messages=fatal")
	pg.Dir = dir
	pg.Stdout, pg.Stderr = &logBuf, &logBuf
	// Its own process group: a Ctrl-C meant for migration-guard does not
	// reach it before Close stops it.
	pg.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	if err := pg.Start(); err != nil {
		_ = cleanup()
		return nil, bin, fmt.Errorf("starting the rehearsal cluster: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- pg.Wait() }()
	stop := func() error {
		_ = pg.Process.Signal(syscall.SIGQUIT) // immediate shutdown: nothing to keep
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = pg.Process.Kill()
			<-exited
		}
		return cleanup()
	}
	dsn := fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable connect_timeout=5", dir, port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := pgx.Connect(ctx, dsn)
		if err == nil {
			c.Close(ctx)
			break
		}
		select {
		case err := <-exited:
			exited <- err
			_ = stop()
			return nil, bin, fmt.Errorf("the rehearsal cluster stopped while starting: %v: %s", err, lastLines(logBuf.Bytes(), 5))
		case <-ctx.Done():
			_ = stop()
			return nil, bin, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = stop()
			return nil, bin, fmt.Errorf("the rehearsal cluster did not accept connections within a minute: %s", lastLines(logBuf.Bytes(), 5))
		}
	}
	s, err := NewServer(dsn)
	if err != nil {
		_ = stop()
		return nil, bin, err
	}
	s.closeFns = append(s.closeFns, stop)
	s.SocketDir = dir
	s.FromCache = fromCache
	return s, bin, nil
}

// cacheDir resolves ClusterOptions.CacheDir; "" when there is none.
func cacheDir(dir string) string {
	switch dir {
	case "-":
		return ""
	case "":
		base, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		return filepath.Join(base, "migration-guard")
	}
	return dir
}

// copyTree copies a data folder: folders 0700, files 0600 (PostgreSQL
// refuses a data folder others can read), owned by cred's user when set.
func copyTree(src, dst string, cred *syscall.Credential) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			if err := os.Mkdir(target, 0o700); err != nil {
				return err
			}
		case d.Type().IsRegular():
			in, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if err := os.WriteFile(target, in, 0o600); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: not a regular file", p)
		}
		if cred != nil {
			return os.Lchown(target, int(cred.Uid), int(cred.Gid))
		}
		return nil
	})
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
