// Package deploy_test checks the deployment files against what the service
// expects: nothing here runs a container, so these are the checks that can
// catch a wrong probe path, a missing secret or a root user before a
// deployment does.
package deploy_test

import (
	"bufio"
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestKubernetesDeployment(t *testing.T) {
	var d struct {
		Spec struct {
			Replicas int `yaml:"replicas"`
			Strategy struct {
				Type string `yaml:"type"`
			} `yaml:"strategy"`
			Template struct {
				Spec struct {
					SecurityContext struct {
						RunAsNonRoot bool `yaml:"runAsNonRoot"`
					} `yaml:"securityContext"`
					Volumes []struct {
						Name                  string `yaml:"name"`
						PersistentVolumeClaim *struct {
							ClaimName string `yaml:"claimName"`
						} `yaml:"persistentVolumeClaim"`
					} `yaml:"volumes"`
					Containers []struct {
						Args         []string `yaml:"args"`
						VolumeMounts []struct {
							Name      string `yaml:"name"`
							MountPath string `yaml:"mountPath"`
						} `yaml:"volumeMounts"`
						Env []struct {
							Name      string `yaml:"name"`
							Value     string `yaml:"value"`
							ValueFrom *struct {
								SecretKeyRef struct{ Name, Key string } `yaml:"secretKeyRef"`
							} `yaml:"valueFrom"`
						} `yaml:"env"`
						ReadinessProbe struct {
							HTTPGet struct{ Path string } `yaml:"httpGet"`
						} `yaml:"readinessProbe"`
						LivenessProbe struct {
							HTTPGet struct{ Path string } `yaml:"httpGet"`
						} `yaml:"livenessProbe"`
						Resources struct {
							Limits map[string]string `yaml:"limits"`
						} `yaml:"resources"`
						SecurityContext struct {
							AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
							ReadOnlyRootFilesystem   bool  `yaml:"readOnlyRootFilesystem"`
						} `yaml:"securityContext"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	readYAML(t, "kubernetes/deployment.yaml", &d)
	if d.Spec.Replicas != 1 {
		t.Errorf("replicas %d: the default queue's SQLite file belongs to one process (several replicas share QUEUE_DATABASE_URL)", d.Spec.Replicas)
	}
	if d.Spec.Strategy.Type != "Recreate" {
		t.Errorf("strategy %q: the old pod must release the queue's file before the new one opens it", d.Spec.Strategy.Type)
	}
	if !d.Spec.Template.Spec.SecurityContext.RunAsNonRoot {
		t.Error("the pod must run as non-root")
	}
	c := d.Spec.Template.Spec.Containers[0]
	if strings.Join(c.Args, " ") != "serve" {
		t.Errorf("args %v", c.Args)
	}
	if c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("probes %q %q", c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path)
	}
	if c.Resources.Limits["memory"] == "" || c.Resources.Limits["cpu"] == "" {
		t.Error("resource limits missing")
	}
	if c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation || !c.SecurityContext.ReadOnlyRootFilesystem {
		t.Error("container security context too loose")
	}
	env := map[string]bool{}
	for _, e := range c.Env {
		env[e.Name] = true
		if (e.Name == "GITHUB_WEBHOOK_SECRET" || e.Name == "GITHUB_APP_ID") && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef.Name == "") {
			t.Errorf("%s must come from a Secret", e.Name)
		}
	}
	for _, name := range []string{"GITHUB_APP_ID", "GITHUB_WEBHOOK_SECRET", "GITHUB_PRIVATE_KEY_PATH", "GITHUB_API_URL", "LISTEN_ADDR", "QUEUE_DATA_DIR"} {
		if !env[name] {
			t.Errorf("env %s missing", name)
		}
	}
	// The queue's directory is on the claim of queue-pvc.yaml.
	dataDir := ""
	for _, e := range c.Env {
		if e.Name == "QUEUE_DATA_DIR" {
			dataDir = e.Value
		}
	}
	var pvc struct {
		Kind     string
		Metadata struct{ Name string }
	}
	readYAML(t, "kubernetes/queue-pvc.yaml", &pvc)
	onClaim := false
	for _, m := range c.VolumeMounts {
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name == m.Name && m.MountPath == dataDir && v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == pvc.Metadata.Name {
				onClaim = true
			}
		}
	}
	if pvc.Kind != "PersistentVolumeClaim" || !onClaim {
		t.Errorf("QUEUE_DATA_DIR %q is not mounted from the claim %q (%s)", dataDir, pvc.Metadata.Name, pvc.Kind)
	}
}

func TestCompose(t *testing.T) {
	var c struct {
		Services map[string]struct {
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
			Volumes     []string          `yaml:"volumes"`
			User        string            `yaml:"user"`
			ReadOnly    bool              `yaml:"read_only"`
		} `yaml:"services"`
	}
	readYAML(t, "compose.yaml", &c)
	s, ok := c.Services["migration-guard"]
	if !ok {
		t.Fatal("no migration-guard service")
	}
	if strings.Join(s.Command, " ") != "serve" || s.User == "" || s.User == "root" || !s.ReadOnly {
		t.Errorf("service: %+v", s)
	}
	for _, name := range []string{"GITHUB_APP_ID", "GITHUB_WEBHOOK_SECRET", "GITHUB_PRIVATE_KEY_PATH", "QUEUE_DATA_DIR"} {
		if s.Environment[name] == "" {
			t.Errorf("env %s missing", name)
		}
	}
	// A read-only container keeps its queue on a volume.
	mounted := false
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		mounted = mounted || (len(parts) >= 2 && parts[1] == s.Environment["QUEUE_DATA_DIR"])
	}
	if !mounted {
		t.Errorf("QUEUE_DATA_DIR %q is not on a volume: %v", s.Environment["QUEUE_DATA_DIR"], s.Volumes)
	}
}

func TestAppManifest(t *testing.T) {
	b, err := os.ReadFile("github-app-manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Permissions map[string]string `json:"default_permissions"`
		Events      []string          `json:"default_events"`
		Hook        struct {
			URL string `json:"url"`
		} `json:"hook_attributes"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"checks": "write", "contents": "read", "issues": "write", "members": "read", "metadata": "read", "pull_requests": "write"}
	if len(m.Permissions) != len(want) {
		t.Errorf("permissions %v, want exactly %v", m.Permissions, want)
	}
	for k, v := range want {
		if m.Permissions[k] != v {
			t.Errorf("permission %s = %q, want %q", k, m.Permissions[k], v)
		}
	}
	sort.Strings(m.Events)
	if strings.Join(m.Events, ",") != "check_run,check_suite,issue_comment,merge_group,pull_request" {
		t.Errorf("events %v", m.Events)
	}
	if !strings.HasSuffix(m.Hook.URL, "/webhook") {
		t.Errorf("hook url %q", m.Hook.URL)
	}
}

// runText is a RUN instruction with its continuation lines, read from the
// scanner that is at its first line.
func runText(sc *bufio.Scanner) string {
	text := sc.Text()
	for strings.HasSuffix(strings.TrimSpace(text), "\\") && sc.Scan() {
		text += "\n" + sc.Text()
	}
	return text
}

// TestDockerfile reads the Dockerfile for the properties that matter when no
// Docker engine is at hand: a build stage with cgo, a runtime stage that is
// not the build image, and a non-root user.
func TestDockerfile(t *testing.T) {
	f, err := os.Open("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var froms []string
	user, cgo, entry, runtimeGit := "", false, "", false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			froms = append(froms, fields[1])
			user, runtimeGit = "", false
		case "USER":
			user = fields[1]
		case "RUN":
			cgo = cgo || strings.Contains(sc.Text(), "CGO_ENABLED=1")
			// A RUN continued over several lines: its first line names the
			// install, the packages follow.
			runtimeGit = runtimeGit || strings.Contains(runText(sc), " git ")
		case "ENTRYPOINT":
			entry = sc.Text()
		}
	}
	if len(froms) < 2 || !strings.HasPrefix(froms[0], "golang:") || strings.HasPrefix(froms[len(froms)-1], "golang:") {
		t.Errorf("want a multi-stage build with a small runtime image, got %v", froms)
	}
	if user == "" || user == "root" || strings.HasPrefix(user, "0") {
		t.Errorf("the runtime stage runs as %q", user)
	}
	if !cgo {
		t.Error("the build must enable cgo: the SQL parser is C")
	}
	if !runtimeGit {
		t.Error("the runtime stage must install git: check --base reads the base commit with it")
	}
	if !strings.Contains(entry, "migration-guard") {
		t.Errorf("entrypoint %q", entry)
	}
}
