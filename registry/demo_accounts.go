package registry

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"slices"

	"zhengzhao/license"
)

// DemoLogin is a demo account with its password, as `serve --demo` writes
// them to DIR/demo-tokens.json.
type DemoLogin struct {
	Username   string `json:"username"`              // sign in with this
	Password   string `json:"password"`              // and this (shown once)
	Role       Role   `json:"role"`                  // what the account may do
	Name       string `json:"name"`                  // shown on the pages
	Department string `json:"department,omitempty"`  // officers' department
	Hall       string `json:"hall,omitempty"`        // clerks' service hall
	HolderCode string `json:"holder_code,omitempty"` // holders' citizen ID or USCC
}

// Demo holders: the catalog's example citizen and enterprise, so that the
// catalog examples issue licenses they can see in their wallet.
const (
	DemoCitizenName    = "王芳"
	DemoCitizenID      = "430103198805061523"
	DemoEnterpriseName = "长沙市岳麓区麓山餐饮管理有限公司"
	DemoEnterpriseCode = "91430104MA4L3B5K26"
)

// CreateDemoAccounts makes one account of every kind with a random password:
// the platform admin, an officer for every registered department, two window
// clerks, a citizen and an enterprise holder. Passwords are returned once.
func (s *Service) CreateDemoAccounts(ctx context.Context, admin Actor) ([]DemoLogin, error) {
	depts, err := s.Departments(ctx)
	if err != nil {
		return nil, err
	}
	// officer1… in the order of DemoDepartments (the city's market
	// regulator first), then any other department by USCC.
	rank := map[string]int{}
	for i, d := range DemoDepartments(s.catalog) {
		rank[d.USCC] = i + 1
	}
	slices.SortStableFunc(depts, func(a, b *Department) int {
		ra, rb := rank[a.USCC], rank[b.USCC]
		if ra == 0 {
			ra = len(rank) + 1
		}
		if rb == 0 {
			rb = len(rank) + 1
		}
		return ra - rb
	})
	accts := []NewAccount{{Username: "admin", Name: "平台管理员", Role: RoleAdmin}}
	for i, d := range depts {
		accts = append(accts, NewAccount{Username: fmt.Sprintf("officer%d", i+1), Name: d.Name + " 制证员", Role: RoleIssuer, Department: d.USCC})
	}
	accts = append(accts,
		NewAccount{Username: "clerk1", Name: "张晓燕", Role: RoleVerifier, Hall: "长沙市政务服务中心 综合受理窗口"},
		NewAccount{Username: "clerk2", Name: "李俊", Role: RoleVerifier, Hall: "岳麓区政务服务中心 3号窗口"},
		NewAccount{Username: "citizen", Name: DemoCitizenName, Role: RoleHolder, HolderCode: DemoCitizenID, HolderCodeType: license.HolderCodeCitizenID},
		NewAccount{Username: "enterprise", Name: DemoEnterpriseName, Role: RoleHolder, HolderCode: DemoEnterpriseCode, HolderCodeType: license.HolderCodeUSCC},
	)
	var out []DemoLogin
	for _, n := range accts {
		if n.Password, err = demoPassword(); err != nil {
			return nil, err
		}
		a, err := s.CreateAccount(ctx, admin, n)
		if err != nil {
			return nil, fmt.Errorf("demo account %s: %w", n.Username, err)
		}
		out = append(out, DemoLogin{Username: a.Username, Password: n.Password, Role: a.Role, Name: a.Name,
			Department: a.Department, Hall: a.Hall, HolderCode: a.HolderCode})
	}
	if err := s.demoHalls(ctx, admin, out); err != nil {
		return nil, err
	}
	return out, nil
}

func demoPassword() (string, error) {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	b := make([]byte, 14)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", err
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b), nil
}
