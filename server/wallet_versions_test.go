package server

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"zhengzhao/license"
	"zhengzhao/registry"
)

// The wallet shows each license once, as its current version, with the
// number, the version and the status on the card and the earlier versions
// (已变更, with their dates) under it; an old version's page says which
// version to use; a cancelled license is shown 已注销.
func TestWalletShowsVersionsAndStatus(t *testing.T) {
	e := newWebEnv(t)
	ctx := context.Background()
	dept := e.depts[0]
	officer := registry.Actor{Role: registry.RoleIssuer, Department: dept.USCC, Name: "o1"}
	permit := e.issueExample(0, 1, registry.DemoEnterpriseName, registry.DemoEnterpriseCode)
	v2, err := e.reg.NewVersion(ctx, officer, permit.Identifier, registry.VersionRequest{Kind: registry.VersionChange, Fields: map[string]string{"premises": "湖南省长沙市岳麓区麓山南路932号2楼"}})
	if err != nil {
		t.Fatal(err)
	}
	other := e.issueExample(0, 1, registry.DemoEnterpriseName, registry.DemoEnterpriseCode)
	if _, err := e.reg.SetStatus(ctx, officer, other.Identifier, registry.StatusRequest{Status: license.StatusCancelled, Reason: "business_ended"}); err != nil {
		t.Fatal(err)
	}

	holder := e.login("enterprise")
	w := holder.get("/wallet")
	assertChinesePage(t, "wallet", w)
	cards := regexp.MustCompile(`(?s)<div class="wcard-wrap">.*?</div>`).FindAllString(w.body, -1)
	var changed, cancelled string
	for _, c := range cards {
		switch {
		case strings.Contains(c, v2.Identifier):
			changed = c
		case strings.Contains(c, other.Identifier):
			cancelled = c
		}
		if strings.Contains(c, `href="/wallet/licenses/`+permit.Identifier+`"`) && !strings.Contains(c, v2.Identifier) {
			t.Errorf("the superseded version has a card of its own:\n%s", c)
		}
	}
	for _, want := range []string{"证照编号 " + v2.Record.Number + " · 第 002 版", `class="pill active">有效`, "第 001 版", "已变更", permit.Record.IssueDate + " 签发，" + v2.Record.IssueDate + " 变更为第 002 版", `href="/wallet/licenses/` + permit.Identifier + `"`} {
		if !strings.Contains(changed, want) {
			t.Errorf("the changed license's card lacks %q:\n%s", want, changed)
		}
	}
	if !strings.Contains(cancelled, "已注销") || !strings.Contains(cancelled, "证照编号 "+other.Record.Number) || !strings.Contains(cancelled, "食品经营许可证") {
		t.Errorf("the cancelled license's card:\n%s", cancelled)
	}

	old := holder.get("/wallet/licenses/" + permit.Identifier)
	assertChinesePage(t, "old version", old)
	for _, want := range []string{"已变更", "第 001 版", "此版本已变更，以", v2.Identifier, "版本记录", "当前版本"} {
		if !strings.Contains(old.body, want) {
			t.Errorf("the old version's page lacks %q", want)
		}
	}
	if strings.Contains(old.body, `id="live"`) {
		t.Error("the old version's page offers a live code (亮证码) to show at a window")
	}
	cur := holder.get("/wallet/licenses/" + v2.Identifier)
	if strings.Contains(cur.body, "此版本已变更") || !strings.Contains(cur.body, "第 002 版") || !strings.Contains(cur.body, "变更为第 002 版") {
		t.Errorf("the current version's page:\n%s", snippet(cur.body))
	}
}
