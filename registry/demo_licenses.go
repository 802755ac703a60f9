package registry

import (
	"context"
	"fmt"

	"zhengzhao/license"
)

// DemoLicense is one license `serve --demo` issues: who issues what to
// whom, and what happened to it since (a change, a cancellation), so that
// the pages show a license over its life.
type DemoLicense struct {
	// Key names the license; it is its issue request key ("demo-" + Key),
	// so issuing the demo twice issues nothing new.
	Key string
	// Department is the issuing department's USCC.
	Department   string
	TypeCode     string
	Holder       string
	HolderCode   string
	Jurisdiction string
	Fields       map[string]string
	// Change, when set, is a change (变更) made after issue: version 002
	// with these fields, the first version 已变更.
	Change     map[string]string
	ChangeNote string
	// CancelReason, when set, cancels (注销) the license with this reason
	// code of license.Reasons and CancelNote.
	CancelReason, CancelNote string
}

// Demo people beyond the two demo accounts: the citizen's husband and
// their child, whose birth certificate names them both.
const (
	demoFatherName = "李强"
	demoFatherID   = "430102198903032711"
	demoChildName  = "李子涵"
	demoChildID    = "430102202308150034"
)

// DemoLicenses are the licenses of the demo: every department issues what
// it really issues to Changsha holders in its area, each company holds one
// 营业执照, the dates agree with one another (an open-ended 营业执照 has no
// end of its business term), and the family agrees: the child's birth
// certificate names the demo citizen as its mother with her ID number and
// her age at the birth. The enterprise's 营业执照 has a change (注册资本,
// version 002) and one of its two food permits is cancelled (注销) because
// that shop closed.
func DemoLicenses(c *license.Catalog) []DemoLicense {
	depts := DemoDepartments(c)
	code := func(name string) string {
		for _, t := range c.Types() {
			if t.Name == name {
				return t.Code
			}
		}
		panic("registry: demo type " + name + " not in the catalog")
	}
	market, land, health, transport, justice := depts[0].USCC, depts[1].USCC, depts[2].USCC, depts[3].USCC, depts[4].USCC
	return []DemoLicense{
		{
			Key: "business-licence", Department: market, TypeCode: code("营业执照"),
			Holder: DemoEnterpriseName, HolderCode: DemoEnterpriseCode, Jurisdiction: "430104",
			Fields: map[string]string{
				"entityType": "有限责任公司（自然人投资或控股）", "legalRepresentative": "刘建国", "registeredCapital": "100",
				"establishedDate": "2019-06-18", "businessTermFrom": "2019-06-18", // no businessTermTo: 长期
				"address":       "湖南省长沙市岳麓区麓山南路932号",
				"businessScope": "许可项目：餐饮服务；食品销售。一般项目：餐饮管理；食品销售（仅销售预包装食品）。（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）",
			},
			Change: map[string]string{"registeredCapital": "300"}, ChangeNote: "股东增资，注册资本由100万元增至300万元",
		},
		{
			Key: "food-permit", Department: market, TypeCode: code("食品经营许可证"),
			Holder: DemoEnterpriseName, HolderCode: DemoEnterpriseCode, Jurisdiction: "430104",
			Fields: map[string]string{
				"legalRepresentative": "刘建国", "address": "湖南省长沙市岳麓区麓山南路932号",
				"premises": "湖南省长沙市岳麓区麓山南路932号1楼101室", "mainBusiness": "餐饮服务经营者",
				"businessItems":   "预包装食品销售（含冷藏冷冻食品）；热食类食品制售；冷食类食品制售",
				"dailySupervisor": "长沙市岳麓区市场监督管理局", "dailySupervisorPerson": "周志强",
			},
		},
		{
			Key: "food-permit-taozihu", Department: market, TypeCode: code("食品经营许可证"),
			Holder: DemoEnterpriseName, HolderCode: DemoEnterpriseCode, Jurisdiction: "430104",
			Fields: map[string]string{
				"legalRepresentative": "刘建国", "address": "湖南省长沙市岳麓区麓山南路932号",
				"premises": "湖南省长沙市岳麓区桃子湖路18号（桃子湖店）", "mainBusiness": "餐饮服务经营者",
				"businessItems":   "热食类食品制售",
				"dailySupervisor": "长沙市岳麓区市场监督管理局", "dailySupervisorPerson": "周志强",
			},
			CancelReason: "business_ended", CancelNote: "桃子湖店停止经营，企业申请注销该店食品经营许可",
		},
		{
			Key: "drug-permit", Department: market, TypeCode: code("药品经营许可证"),
			Holder: "长沙市芙蓉区康宁大药房有限公司", HolderCode: "91430100MA4Q8NPU7T", Jurisdiction: "430102",
			Fields: map[string]string{
				"legalRepresentative": "陈明", "principal": "陈明", "qualityPrincipal": "周丽华",
				"address": "湖南省长沙市芙蓉区五一大道168号", "businessMode": "零售",
				"businessScope": "中药饮片、中成药、化学药、生物制品（除疫苗）",
			},
		},
		{
			Key: "property", Department: land, TypeCode: code("不动产权证书"),
			Holder: DemoCitizenName, HolderCode: DemoCitizenID, Jurisdiction: "430104",
			Fields: map[string]string{
				"coOwnership": "单独所有", "location": "长沙市岳麓区桐梓坡西路189号麓谷小镇12栋1单元1502室",
				"unitNumber": "430104003005GB00012F00010023", "rightType": "国有建设用地使用权/房屋所有权",
				"rightNature": "出让/市场化商品房", "usage": "城镇住宅用地/住宅", "landArea": "35612.48", "buildingArea": "118.36",
				"termOfUse":   "2013年06月01日起2083年05月31日止",
				"otherRights": "专有建筑面积：96.52平方米，分摊建筑面积：21.84平方米",
			},
		},
		{
			Key: "planning-permit", Department: land, TypeCode: code("建设工程规划许可证"),
			Holder: "长沙麓谷置业有限公司", HolderCode: "91430100MA4PK6XH35", Jurisdiction: "430104",
			Fields: map[string]string{
				"projectName": "麓谷小镇二期12#栋住宅楼", "location": "长沙高新区桐梓坡西路以南、麓松路以东",
				"scale": "18650.32", "projectCode": "2023-430104-70-01-012345",
				"attachments": "建设工程设计方案总平面图、各层平面图、立面图、剖面图",
			},
		},
		{
			Key: "birth-certificate", Department: health, TypeCode: code("出生医学证明"),
			Holder: demoChildName, HolderCode: demoChildID, Jurisdiction: "430105",
			Fields: map[string]string{
				"newbornName": demoChildName, "sex": "男", "birthDate": "2023-08-15", "birthTime": "09:42",
				"gestationalWeeks": "39", "weight": "3350", "length": "50",
				"birthPlace": "湖南省长沙市开福区", "medicalInstitution": "湖南省妇幼保健院",
				"motherName": DemoCitizenName, "motherAge": "35", "motherNationality": "中国", "motherEthnicity": "汉族", "motherIdNumber": DemoCitizenID,
				"fatherName": demoFatherName, "fatherAge": "34", "fatherNationality": "中国", "fatherEthnicity": "汉族", "fatherIdNumber": demoFatherID,
			},
		},
		{
			Key: "road-transport-permit", Department: transport, TypeCode: code("道路运输经营许可证"),
			Holder: "长沙湘运通物流有限公司", HolderCode: "91430104MA4T2W9C5H", Jurisdiction: "430104",
			Fields: map[string]string{
				"address": "湖南省长沙市岳麓区望城坡街道金星中路428号", "economicType": "有限责任公司",
				"businessScope": "道路普通货物运输；货物专用运输（集装箱、冷藏保鲜设备）",
			},
		},
		{
			Key: "lawyer-licence", Department: justice, TypeCode: code("律师执业证"),
			Holder: DemoCitizenName, HolderCode: DemoCitizenID, Jurisdiction: "430100",
			Fields: map[string]string{
				"sex": "女", "lawFirm": "湖南麓山律师事务所", "practiceType": "专职律师",
				"qualificationNo": "A20104301040123", "firstPracticeDate": "2012-07-01",
			},
		},
	}
}

// IssueDemoLicenses issues the demo licenses (DemoLicenses) as their
// departments' officers would, then makes their changes and cancellations.
// The departments must be registered. It returns the licenses as they end
// up, the current version of a changed one. Run again, it issues nothing
// new (request keys) and changes nothing already changed.
func (s *Service) IssueDemoLicenses(ctx context.Context) ([]*License, error) {
	var out []*License
	for _, d := range DemoLicenses(s.catalog) {
		officer := Actor{Role: RoleIssuer, Department: d.Department, Name: "演示制证员"}
		lic, err := s.Issue(ctx, officer, IssueRequest{
			TypeCode: d.TypeCode, Holder: d.Holder, HolderCode: d.HolderCode, Jurisdiction: d.Jurisdiction,
			Fields: d.Fields, RequestKey: "demo-" + d.Key,
		})
		if err != nil {
			return nil, fmt.Errorf("demo license %s: %w", d.Key, err)
		}
		if d.Change != nil && lic.Status == license.StatusActive {
			if lic, err = s.NewVersion(ctx, officer, lic.Identifier, VersionRequest{Kind: VersionChange, Fields: d.Change, Note: d.ChangeNote}); err != nil {
				return nil, fmt.Errorf("demo license %s: change: %w", d.Key, err)
			}
		}
		if d.CancelReason != "" && lic.Status == license.StatusActive {
			if lic, err = s.SetStatus(ctx, officer, lic.Identifier, StatusRequest{Status: license.StatusCancelled, Reason: d.CancelReason, Note: d.CancelNote}); err != nil {
				return nil, fmt.Errorf("demo license %s: cancel: %w", d.Key, err)
			}
		}
		out = append(out, lic)
	}
	return out, nil
}
