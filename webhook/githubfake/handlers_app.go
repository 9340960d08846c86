package githubfake

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"sort"
	"strconv"
)

var handlers = map[string]handler{}

func init() {
	for id, h := range map[string]handler{
		"apps/get-authenticated":                     getApp,
		"apps/get-installation":                      getInstallation,
		"apps/list-installations":                    listInstallations,
		"apps/get-repo-installation":                 getRepoInstallation,
		"apps/create-installation-access-token":      createAccessToken,
		"apps/list-repos-accessible-to-installation": listInstallationRepos,
		"apps/create-from-manifest":                  createFromManifest,
		"apps/list-webhook-deliveries":               listDeliveries,
		"apps/get-webhook-delivery":                  getDelivery,
		"apps/redeliver-webhook-delivery":            redeliver,
	} {
		handlers[id] = h
	}
}

func getApp(c *call) reply {
	body := c.f.renderApp(c.cred.app)
	n := 0
	for _, inst := range c.f.installs {
		if inst.App == c.cred.app {
			n++
		}
	}
	body["installations_count"] = n
	return ok(body)
}

func (c *call) appInstallation() (*Installation, bool) {
	inst, found := c.f.installs[c.intParam("installation_id")]
	if !found || inst.App != c.cred.app {
		return nil, false
	}
	return inst, true
}

func getInstallation(c *call) reply {
	inst, found := c.appInstallation()
	if !found {
		return c.notFound()
	}
	return ok(c.f.renderInstallation(inst))
}

func listInstallations(c *call) reply {
	var list []*Installation
	for _, inst := range c.f.installs {
		if inst.App == c.cred.app {
			list = append(list, inst)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	lo, hi := c.page(len(list))
	out := []any{}
	for _, inst := range list[lo:hi] {
		out = append(out, c.f.renderInstallation(inst))
	}
	return ok(out)
}

func getRepoInstallation(c *call) reply {
	repo, found := c.f.repoByName(c.params["owner"], c.params["repo"])
	if !found {
		return c.notFound()
	}
	for _, inst := range c.f.installs {
		if inst.App == c.cred.app && inst.covers(c.f, repo) {
			return ok(c.f.renderInstallation(inst))
		}
	}
	return c.notFound()
}

func createAccessToken(c *call) reply {
	inst, found := c.appInstallation()
	if !found {
		return c.notFound()
	}
	var repoIDs map[int64]bool
	var scoped []*Repo
	addRepo := func(r *Repo, found bool) bool {
		if !found || !inst.covers(c.f, r) {
			return false
		}
		if repoIDs == nil {
			repoIDs = map[int64]bool{}
		}
		if !repoIDs[r.ID] {
			repoIDs[r.ID] = true
			scoped = append(scoped, r)
		}
		return true
	}
	const notAccessible = "There is at least one repository that does not exist or is not accessible to the parent installation."
	if names, isList := c.body["repositories"].([]any); isList {
		for _, n := range names {
			name, _ := n.(string)
			r, found := c.f.repoByName(inst.Account.Login, name)
			if !addRepo(r, found) {
				return c.fail(http.StatusUnprocessableEntity, notAccessible)
			}
		}
	}
	if ids, isList := c.body["repository_ids"].([]any); isList {
		for _, v := range ids {
			id, _ := jsonInt(v)
			var match *Repo
			for _, r := range c.f.repos {
				if r.ID == int64(id) {
					match = r
				}
			}
			if !addRepo(match, match != nil) {
				return c.fail(http.StatusUnprocessableEntity, notAccessible)
			}
		}
	}
	var perms map[string]string
	if req, isMap := c.body["permissions"].(map[string]any); isMap {
		perms = map[string]string{}
		for name, v := range req {
			level, _ := v.(string)
			if permissionLevels[inst.Permissions[name]] < permissionLevels[level] {
				return c.fail(http.StatusUnprocessableEntity, "The permissions requested are not granted to this installation.")
			}
			perms[name] = level
		}
	}
	tok := c.f.issueToken(inst, repoIDs, perms)
	selection := "selected"
	if inst.AllRepos && repoIDs == nil {
		selection = "all"
	}
	body := map[string]any{
		"token":                tok.value,
		"expires_at":           ts(tok.expiresAt),
		"permissions":          tok.permissions,
		"repository_selection": selection,
	}
	if scoped != nil {
		repos := []any{}
		for _, r := range scoped {
			repos = append(repos, c.f.renderRepo(r))
		}
		body["repositories"] = repos
	}
	return created(body, inst.ID)
}

func listInstallationRepos(c *call) reply {
	if c.cred.kind != "installation" {
		return c.fail(http.StatusForbidden, "You must authenticate with an installation access token in order to list repositories for an installation.")
	}
	var repos []*Repo
	for _, r := range c.cred.token.inst.repositories(c.f) {
		if c.cred.token.covers(c.f, r) {
			repos = append(repos, r)
		}
	}
	lo, hi := c.page(len(repos))
	list := []any{}
	for _, r := range repos[lo:hi] {
		list = append(list, c.f.renderRepo(r))
	}
	selection := "selected"
	if c.cred.token.inst.AllRepos {
		selection = "all"
	}
	return ok(map[string]any{"total_count": len(repos), "repositories": list, "repository_selection": selection})
}

func createFromManifest(c *call) reply {
	code := c.params["code"]
	creds, found := c.f.manifests[code]
	if !found {
		return c.notFound()
	}
	delete(c.f.manifests, code)
	// The new App exists from now on, so a setup flow can go on to
	// authenticate with the key it was just given.
	block, _ := pem.Decode([]byte(creds.PEM))
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		panic(fmt.Sprintf("githubfake: parsing manifest App key: %v", err))
	}
	app := c.f.newApp(creds.ID, creds.Slug, key)
	app.ClientID, app.ClientSecret, app.WebhookSecret = creds.ClientID, creds.ClientSecret, creds.WebhookSecret
	body := c.f.renderApp(app)
	body["client_secret"] = creds.ClientSecret
	body["webhook_secret"] = creds.WebhookSecret
	body["pem"] = creds.PEM
	return created(body, creds.ID)
}

func listDeliveries(c *call) reply {
	// GitHub lists newest first and pages with an opaque cursor; the
	// cursor here is the index to continue from.
	var mine []*Delivery
	for i := len(c.f.deliveries) - 1; i >= 0; i-- {
		mine = append(mine, c.f.deliveries[i])
	}
	start, _ := strconv.Atoi(c.query.Get("cursor"))
	per := 30
	if v, err := strconv.Atoi(c.query.Get("per_page")); err == nil && v > 0 && v <= 100 {
		per = v
	}
	if start > len(mine) {
		start = len(mine)
	}
	end := start + per
	if end > len(mine) {
		end = len(mine)
	}
	if end < len(mine) {
		c.header.Set("Link", "<http://"+c.r.Host+c.prefix+c.r.URL.Path+"?per_page="+strconv.Itoa(per)+"&cursor="+strconv.Itoa(end)+`>; rel="next"`)
	}
	out := []any{}
	for _, d := range mine[start:end] {
		if st := c.query.Get("status"); st == "success" && d.StatusCode >= 300 || st == "failure" && d.StatusCode < 300 && d.StatusCode != 0 {
			continue
		}
		out = append(out, d.summary())
	}
	return ok(out)
}

func (f *Fake) deliveryByID(id int64) *Delivery {
	for _, d := range f.deliveries {
		if d.ID == id {
			return d
		}
	}
	return nil
}

func getDelivery(c *call) reply {
	d := c.f.deliveryByID(c.intParam("delivery_id"))
	if d == nil {
		return c.notFound()
	}
	return ok(d.detail())
}

func redeliver(c *call) reply {
	d := c.f.deliveryByID(c.intParam("delivery_id"))
	if d == nil {
		return c.notFound()
	}
	// GitHub answers 202 at once and delivers later; the fake sends from
	// a goroutine that Fake.Wait and Fake.Close wait for.
	again := c.f.redeliveryOf(d)
	c.f.pending.Add(1)
	go func() {
		defer c.f.pending.Done()
		_, _ = c.f.send(again, sendOptions{})
	}()
	return reply{status: http.StatusAccepted, body: map[string]any{}, objectID: d.ID}
}
