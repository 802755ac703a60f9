package server

import (
	"cmp"
	"slices"

	"zhengzhao/registry"
)

// walletCard is one license in the wallet: its current version and the
// versions it replaced (已变更), newest first.
type walletCard struct {
	licenseView
	History []versionView
}

// versionView is an earlier version of a license: when it was issued and
// when, and by which version, it was replaced.
type versionView struct {
	L *registry.License
	// ReplacedOn is the issue date of the version after it (YYYY-MM-DD);
	// ReplacedBy that version's number ("002").
	ReplacedOn, ReplacedBy string
}

// licenseKey names a license across its versions: a department's serial
// of one type.
func licenseKey(l *registry.License) string {
	return l.Department + "/" + l.TypeCode + "/" + l.Serial
}

// walletCards groups a holder's licenses by license: one card for each,
// showing its current (latest) version, with the earlier ones as its
// history. Cards keep the order in which their licenses first appear.
func (s *Server) walletCards(lics []*registry.License) []walletCard {
	groups := map[string][]*registry.License{}
	var order []string
	for _, l := range lics {
		k := licenseKey(l)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], l)
	}
	cards := make([]walletCard, 0, len(order))
	for _, k := range order {
		vs := groups[k]
		slices.SortFunc(vs, func(a, b *registry.License) int { return cmp.Compare(b.Version, a.Version) })
		card := walletCard{licenseView: s.licenseView(vs[0], nil)}
		for i, l := range vs[1:] {
			card.History = append(card.History, versionView{L: l, ReplacedOn: vs[i].Record.IssueDate, ReplacedBy: vs[i].Version})
		}
		cards = append(cards, card)
	}
	return cards
}

// versionsOf is the versions of the license l belongs to among lics,
// newest first, for l's own page.
func versionsOf(l *registry.License, lics []*registry.License) []versionView {
	var vs []*registry.License
	for _, o := range lics {
		if licenseKey(o) == licenseKey(l) {
			vs = append(vs, o)
		}
	}
	slices.SortFunc(vs, func(a, b *registry.License) int { return cmp.Compare(b.Version, a.Version) })
	out := make([]versionView, 0, len(vs))
	for i, o := range vs {
		v := versionView{L: o}
		if i > 0 {
			v.ReplacedOn, v.ReplacedBy = vs[i-1].Record.IssueDate, vs[i-1].Version
		}
		out = append(out, v)
	}
	return out
}
