package registry

import "zhengzhao/license"

// DemoDepartment is a department `zhengzhao init --demo` registers.
type DemoDepartment struct {
	USCC  string
	Name  string
	Types []string // type codes from the catalog
}

// DemoDepartments are five Hunan departments, in Changsha where the demo
// holders are, covering the catalog types they really issue: the city's
// market regulator issues 营业执照 and the food and (retail) drug permits,
// the province's justice department the lawyer's licence. Their USCCs are
// made up (organs of state start with 11, then the GB/T 2260 code of the
// area they serve) but carry valid GB 32100 check characters.
func DemoDepartments(c *license.Catalog) []DemoDepartment {
	byName := func(names ...string) []string {
		var codes []string
		for _, t := range c.Types() {
			for _, n := range names {
				if t.Name == n {
					codes = append(codes, t.Code)
				}
			}
		}
		return codes
	}
	return []DemoDepartment{
		{USCC: withUSCCCheck("11430100MB1C00011"), Name: "长沙市市场监督管理局", Types: byName("营业执照", "食品经营许可证", "药品经营许可证")},
		{USCC: withUSCCCheck("11430100MB1C00022"), Name: "长沙市自然资源和规划局", Types: byName("不动产权证书", "建设工程规划许可证")},
		{USCC: withUSCCCheck("11430100MB1C00033"), Name: "长沙市卫生健康委员会", Types: byName("出生医学证明")},
		{USCC: withUSCCCheck("11430100MB1C00044"), Name: "长沙市交通运输局", Types: byName("道路运输经营许可证")},
		{USCC: withUSCCCheck("11430000MB1C00055"), Name: "湖南省司法厅", Types: byName("律师执业证")},
	}
}

// withUSCCCheck completes a 17-character USCC prefix with its check character.
func withUSCCCheck(prefix17 string) string {
	const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	for _, c := range alphabet {
		if s := prefix17 + string(c); license.ValidateUSCC(s) == nil {
			return s
		}
	}
	panic("registry: no USCC check character for " + prefix17)
}
