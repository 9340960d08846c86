package layout

import (
	"path"
	"sort"
	"strings"
)

// sqitchProject is where a sqitch project keeps its plan and scripts.
type sqitchProject struct {
	root      string
	plan      string
	deployDir string
	revertDir string
	verifyDir string
	ext       string
	engine    string
}

// sqitchAt reads the project's sqitch.conf, when there is one, for the
// settings that move files (top_dir, plan_file, deploy_dir, revert_dir,
// verify_dir, extension), core first and the pg engine section over it.
func (d *discoverer) sqitchAt(t *tree, root string) (*sqitchProject, error) {
	settings := map[string]string{}
	conf := joinName(root, "sqitch.conf")
	if t.have[conf] {
		b, err := d.read(conf)
		if err != nil {
			return nil, err
		}
		settings = sqitchSettings(b)
	}
	get := func(key, def string) string {
		if v, ok := settings["engine.pg."+key]; ok && v != "" {
			return v
		}
		if v, ok := settings["core."+key]; ok && v != "" {
			return v
		}
		return def
	}
	top := get("top_dir", ".")
	sp := &sqitchProject{
		root:      root,
		plan:      path.Join(root, get("plan_file", joinName(top, "sqitch.plan"))),
		deployDir: path.Join(root, get("deploy_dir", joinName(top, "deploy"))),
		revertDir: path.Join(root, get("revert_dir", joinName(top, "revert"))),
		verifyDir: path.Join(root, get("verify_dir", joinName(top, "verify"))),
		ext:       strings.TrimPrefix(get("extension", "sql"), "."),
		engine:    settings["core.engine"],
	}
	return sp, nil
}

// sqitchSettings reads the git-config style sqitch.conf into
// "section.subsection.key" entries.
func sqitchSettings(b []byte) map[string]string {
	out := map[string]string{}
	section := ""
	eachLine(b, bomLen(b), func(l textLine) bool {
		t := strings.TrimSpace(l.text)
		if t == "" || t[0] == '#' || t[0] == ';' {
			return true
		}
		if t[0] == '[' {
			inner := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(t, "["), "]"))
			name, sub, found := strings.Cut(inner, " ")
			section = strings.ToLower(name)
			if found {
				section += "." + strings.Trim(strings.TrimSpace(sub), `"`)
			}
			return true
		}
		key, val, found := strings.Cut(t, "=")
		if !found {
			return true
		}
		val = strings.TrimSpace(val)
		if i := strings.IndexAny(val, "#;"); i >= 0 && !strings.HasPrefix(val, `"`) {
			val = strings.TrimSpace(val[:i])
		}
		out[section+"."+strings.ToLower(strings.TrimSpace(key))] = strings.Trim(val, `"`)
		return true
	})
	return out
}

// sqitchChange is one change line of a plan.
type sqitchChange struct {
	name string
	line int
	pos  int // index among plan entries, tags included
}

// parseSqitchPlan returns the changes in plan order and the tags with their
// positions. Pragmas (%...), notes (# ...), dependencies ([a b]) and the
// planner/timestamp fields are ignored.
func parseSqitchPlan(b []byte) ([]sqitchChange, map[int]string, []Problem) {
	var changes []sqitchChange
	tags := map[int]string{}
	var problems []Problem
	pos := 0
	eachLine(b, bomLen(b), func(l textLine) bool {
		t := strings.TrimSpace(l.text)
		if t == "" || t[0] == '#' || t[0] == '%' {
			return true
		}
		fields := strings.Fields(t)
		name := fields[0]
		switch name[0] {
		case '@':
			tags[pos] = name
			pos++
			return true
		case '+':
			name = name[1:]
		case '-':
			problems = append(problems, Problem{Line: l.no, Message: "revert entries (-" + name[1:] + ") in the plan are not supported; skipped"})
			return true
		}
		if name == "" {
			return true
		}
		changes = append(changes, sqitchChange{name: name, line: l.no, pos: pos})
		pos++
		return true
	})
	return changes, tags, problems
}

// sqitchScript names a change occurrence's scripts relative to the deploy,
// revert and verify folders: the last occurrence of a name uses name.sql;
// an earlier, reworked one uses name@tag.sql for the first tag after it (up
// to the next occurrence) whose deploy script exists, else the first such
// tag. The deploy folder decides for all three scripts, as
// App::Sqitch::Plan::Change's path_segments does.
func sqitchScript(t *tree, deployDir, ext string, changes []sqitchChange, tags map[int]string, i int) string {
	c := changes[i]
	next := -1
	for j := i + 1; j < len(changes); j++ {
		if changes[j].name == c.name {
			next = changes[j].pos
			break
		}
	}
	if next < 0 {
		return c.name + "." + ext
	}
	first := ""
	for pos := c.pos + 1; pos < next; pos++ {
		tag, ok := tags[pos]
		if !ok {
			continue
		}
		rel := c.name + tag + "." + ext
		if first == "" {
			first = rel
		}
		if t.have[joinName(deployDir, rel)] {
			return rel
		}
	}
	if first == "" {
		return c.name + "." + ext
	}
	return first
}

func (d *discoverer) loadSqitch(f folderPlan) ([]Migration, error) {
	sp := f.sqitch
	if sp == nil {
		var err error
		if sp, err = d.sqitchAt(f.tree, f.path); err != nil {
			return nil, err
		}
	}
	if sp.engine != "" && sp.engine != "pg" {
		d.problem(joinName(sp.root, "sqitch.conf"), 0, "sqitch project for engine %q, not PostgreSQL; not checked", sp.engine)
		return nil, nil
	}
	if !f.tree.have[sp.plan] {
		d.problem(sp.plan, 0, "sqitch plan file not found; no migrations")
		return nil, nil
	}
	b, err := d.read(sp.plan)
	if err != nil {
		return nil, err
	}
	changes, tags, planProblems := parseSqitchPlan(b)
	for _, p := range planProblems {
		d.problem(sp.plan, p.Line, "%s", p.Message)
	}
	var ms []Migration
	planned := map[string]bool{}
	for i, c := range changes {
		rel := sqitchScript(f.tree, sp.deployDir, sp.ext, changes, tags, i)
		deploy := joinName(sp.deployDir, rel)
		if !f.tree.have[deploy] {
			d.problem(sp.plan, c.line, "the plan names change %s, but %s does not exist: sqitch deploy fails", c.name, deploy)
			continue
		}
		m, err := d.fileMigration(f, deploy)
		if err != nil {
			return nil, err
		}
		m.Dir = sp.root
		m.Name = c.name
		revert := joinName(sp.revertDir, rel)
		if f.tree.have[revert] {
			if err := d.attachDown(f, &m, revert); err != nil {
				return nil, err
			}
		} else {
			m.Problems = append(m.Problems, Problem{Path: deploy, Message: "no revert script " + revert + ": sqitch revert fails for this change"})
		}
		if verify := joinName(sp.verifyDir, rel); f.tree.have[verify] {
			m.VerifyPath = verify
		}
		ms = append(ms, m)
		planned[deploy] = true
	}
	// sqitch runs only what the plan names: a deploy script it does not
	// name never runs (a change removed from the plan, or added to the
	// folder and forgotten in the plan). Said, not judged.
	for _, p := range filesUnder(f.tree, sp.deployDir, "."+sp.ext) {
		if !planned[p] {
			d.problem(p, 0, "deploy script not named in %s: sqitch never runs it", sp.plan)
		}
	}
	return ms, nil
}

// filesUnder lists the files under dir, recursively, whose names end in
// suffix, in path order.
func filesUnder(t *tree, dir, suffix string) []string {
	var out []string
	for _, n := range t.files[dir] {
		if strings.HasSuffix(n, suffix) {
			out = append(out, joinName(dir, n))
		}
	}
	for _, sub := range t.dirs[dir] {
		out = append(out, filesUnder(t, joinName(dir, sub), suffix)...)
	}
	return out
}

// sqitchPlanProject reads a plan's %project pragma and the other projects
// its changes require ([other:change], [other:@tag]); conflicts (!x) are not
// requirements.
func sqitchPlanProject(b []byte) (project string, requires map[string]bool) {
	requires = map[string]bool{}
	eachLine(b, bomLen(b), func(l textLine) bool {
		t := strings.TrimSpace(l.text)
		if strings.HasPrefix(t, "%project=") {
			project = strings.TrimSpace(strings.TrimPrefix(t, "%project="))
			return true
		}
		if t == "" || t[0] == '#' || t[0] == '%' {
			return true
		}
		if i := strings.IndexByte(t, '#'); i >= 0 {
			t = t[:i] // the note: a change name cannot hold '#'
		}
		open := strings.IndexByte(t, '[')
		if open < 0 {
			return true
		}
		end := strings.IndexByte(t[open:], ']')
		if end < 0 {
			return true
		}
		for _, dep := range strings.Fields(t[open+1 : open+end]) {
			if strings.HasPrefix(dep, "!") {
				continue
			}
			if p, _, ok := strings.Cut(dep, ":"); ok && p != "" {
				requires[p] = true
			}
		}
		return true
	})
	delete(requires, project)
	return project, requires
}

// orderSqitchProjects moves each sqitch project after the projects of the
// same repository whose changes it requires (oc_erchef/schema requires
// oss_chef:roles from schema/baseline): sqitch refuses to deploy a change
// before what it requires, so they are applied in that order. Folders keep
// their path order otherwise, and a cycle leaves them in path order.
func (d *discoverer) orderSqitchProjects(folders []folderPlan) []folderPlan {
	name := map[int]string{}
	requires := map[int]map[string]bool{}
	byProject := map[string]int{}
	for i, f := range folders {
		if f.kind != Sqitch || f.sqitch == nil || !f.tree.have[f.sqitch.plan] {
			continue
		}
		b, err := d.read(f.sqitch.plan)
		if err != nil {
			continue // loadSqitch reports it
		}
		p, req := sqitchPlanProject(b)
		name[i], requires[i] = p, req
		if p != "" {
			if _, dup := byProject[p]; !dup {
				byProject[p] = i
			}
		}
	}
	if len(name) < 2 {
		return folders
	}
	out := make([]folderPlan, 0, len(folders))
	placed := make([]bool, len(folders))
	visiting := make([]bool, len(folders))
	var place func(i int)
	place = func(i int) {
		if placed[i] || visiting[i] {
			return
		}
		visiting[i] = true
		for _, dep := range sortedKeys(requires[i]) {
			if j, ok := byProject[dep]; ok {
				place(j)
			}
		}
		visiting[i] = false
		if !placed[i] {
			placed[i] = true
			out = append(out, folders[i])
		}
	}
	for i := range folders {
		place(i)
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
