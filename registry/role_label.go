package registry

// Label is the role as a person reads it ("持证人" for holder), or the
// role's code when it has none.
func (r Role) Label() string {
	switch r {
	case RoleAdmin:
		return "平台管理员"
	case RoleIssuer:
		return "部门制证员"
	case RoleVerifier:
		return "窗口核验员"
	case RoleHolder:
		return "持证人"
	}
	return string(r)
}
