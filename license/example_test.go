package license_test

import (
	"errors"
	"fmt"

	"zhengzhao/license"
)

func ExampleNewIdentifier() {
	id, err := license.NewIdentifier("11100000000013338W011", "11430000006122244L", "20230000403", "001")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(id)
	// Output: 1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U
}

func ExampleParseIdentifier() {
	id, err := license.ParseIdentifier("1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(id.TypeCode, id.IssuerUSCC, id.Serial, id.Version, string(id.Check))

	_, err = license.ParseIdentifier("1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.V")
	var fe *license.FieldError
	if errors.As(err, &fe) {
		fmt.Println(fe.Field, fe.Rule)
	}
	// Output:
	// 11100000000013338W011 11430000006122244L 20230000403 001 U
	// identifier.check check
}

func ExampleType_Validate() {
	t, _ := license.DefaultCatalog().Type("11100000000013338W001") // 营业执照
	r := t.Example("11430000006122244L", "湖南省市场监督管理局")
	fmt.Println(t.Validate(r))

	r.HolderCode = "91430104MA4L3B5K27" // wrong check character
	delete(r.Fields, "legalRepresentative")
	r.Fields["colour"] = "red"
	err := t.Validate(r)
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *license.FieldError
		if errors.As(e, &fe) {
			fmt.Println(fe.Field, fe.Rule)
		}
	}
	// Output:
	// <nil>
	// holderCode check
	// fields.legalRepresentative required
	// fields.colour unknown
}
