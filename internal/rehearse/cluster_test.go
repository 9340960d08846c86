package rehearse

import (
	"context"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestPrivateCluster starts a cluster from PostgreSQL 15's binaries (as the
// postgres account when the test runs as root, as CI does), rehearses in
// it, and checks that it listened on no TCP port and left nothing behind.
func TestPrivateCluster(t *testing.T) {
	ctx := context.Background()
	srv, bin, err := StartCluster(ctx, ClusterOptions{Version: 15, BinDirs: []string{"/usr/local/bin", "/usr/lib/postgresql/15/bin"}, CacheDir: "-"})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = srv.Close(ctx)
		}
	})
	if bin.Version != 15 {
		t.Errorf("version %d", bin.Version)
	}
	admin, err := srv.connectAdmin(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var listen, dataDir string
	if err := admin.QueryRow(ctx, "SELECT current_setting('listen_addresses'), current_setting('data_directory')").Scan(&listen, &dataDir); err != nil {
		t.Fatal(err)
	}
	admin.Close(ctx)
	if listen != "" {
		t.Errorf("listen_addresses = %q, want no TCP listener", listen)
	}
	if os.Geteuid() == 0 {
		fi, err := os.Stat(dataDir)
		if err != nil {
			t.Fatal(err)
		}
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal(err)
		}
		if strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Uid)) != u.Uid {
			t.Errorf("running as root, the cluster must belong to postgres")
		}
	}

	rep, res := rehearse(t, srv, goose("ALTER TABLE orders ADD COLUMN shipped_at timestamptz;\nCREATE INDEX orders_total ON orders (total);\nALTER TABLE orders ALTER COLUMN shiped_at SET NOT NULL;", ""), Options{})
	fr := res.Files[0]
	if fr.Failed == nil || fr.Failed.Line != 4 || fr.Failed.SQLState != "42703" {
		t.Fatalf("%+v", fr)
	}
	if l := fr.Statements[1].Locks; len(l) != 1 || l[0] != (Lock{Relation: "public.orders", Kind: "table", Mode: "SHARE"}) {
		t.Errorf("CREATE INDEX took %+v", l)
	}
	if got := findingsOf(&rep.Files[0], "fails-at-deploy"); len(got) != 1 {
		t.Errorf("%+v", got)
	}
	marker := filepath.Join(t.TempDir(), "pwned")
	_, res = rehearse(t, srv, "-- +goose NO TRANSACTION\n"+goose("COPY (SELECT 1) TO PROGRAM 'touch "+marker+"';", ""), Options{})
	if !strings.Contains(res.Files[0].NotRehearsed, "for lack of privilege") {
		t.Errorf("%+v", res.Files[0])
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("COPY ... PROGRAM ran: %v", err)
	}

	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	closed = true
	if _, err := os.Stat(srv.SocketDir); !os.IsNotExist(err) {
		t.Errorf("the cluster's folder is still there: %v", err)
	}
	if c, err := pgx.Connect(ctx, srv.admin.ConnString()); err == nil {
		c.Close(ctx)
		t.Error("the cluster still accepts connections after Close")
	}
}

// TestClusterCache: the second start copies the data folder the first
// initialized, and the cluster works as well.
func TestClusterCache(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for i, want := range []bool{false, true} {
		srv, _, err := StartCluster(ctx, ClusterOptions{Version: 15, BinDirs: []string{"/usr/lib/postgresql/15/bin"}, CacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if srv.FromCache != want {
			t.Errorf("start %d: from cache %v, want %v", i+1, srv.FromCache, want)
		}
		_, res := rehearse(t, srv, goose("ALTER TABLE orders ALTER COLUMN total TYPE bigint;", ""), Options{})
		if sr := res.Files[0].Statements[0]; len(sr.Rewrites) != 1 {
			t.Errorf("start %d: %+v", i+1, sr)
		}
		if err := srv.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNoBinaries(t *testing.T) {
	_, _, err := StartCluster(context.Background(), ClusterOptions{BinDirs: []string{t.TempDir()}})
	if !errors.Is(err, ErrNoBinaries) || !strings.Contains(err.Error(), "apt-get install postgresql-15") {
		t.Fatalf("%v", err)
	}
}

func TestFindBinariesPrefersVersion(t *testing.T) {
	got := FindBinaries(ClusterOptions{Version: 15, BinDirs: []string{"/usr/lib/postgresql/15/bin"}})
	if len(got) != 1 || got[0].Version != 15 || got[0].Dir != "/usr/lib/postgresql/15/bin" {
		t.Fatalf("%+v", got)
	}
}
