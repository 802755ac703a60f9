package registry

import "zhengzhao/license"

// DemoDepartment is a department `zhengzhao init --demo` registers.
type DemoDepartment struct {
	USCC  string
	Name  string
	Types []string // type codes from the catalog
}

// DemoDepartments are five Shanghai departments covering the catalog types
// they really issue. Their USCCs are made up (organs of state start with 11)
// but carry valid GB 32100 check characters.
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
		{USCC: withUSCCCheck("11310000MB2F00011"), Name: "上海市市场监督管理局", Types: byName("营业执照", "食品经营许可证", "药品经营许可证")},
		{USCC: withUSCCCheck("11310000MB2F00022"), Name: "上海市规划和自然资源局", Types: byName("不动产权证书", "建设工程规划许可证")},
		{USCC: withUSCCCheck("11310000MB2F00033"), Name: "上海市卫生健康委员会", Types: byName("出生医学证明")},
		{USCC: withUSCCCheck("11310000MB2F00044"), Name: "上海市交通委员会", Types: byName("道路运输经营许可证")},
		{USCC: withUSCCCheck("11310000MB2F00055"), Name: "上海市司法局", Types: byName("律师执业证")},
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
