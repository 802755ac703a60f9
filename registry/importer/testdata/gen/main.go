// Command gen writes N rows of 营业执照 (each a company of its own, with an
// original number) under the template's Chinese header, as CSV in UTF-8 or,
// with -gbk, in GBK as Excel saves it: the input of measure.sh.
//
//	go run ./registry/importer/testdata/gen -n 100000 -gbk -o rows.csv
package main

import (
	"bufio"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"log"
	"os"

	"golang.org/x/text/encoding/simplifiedchinese"

	"zhengzhao/license"
	"zhengzhao/registry/importer"
)

func main() {
	n := flag.Int("n", 100000, "rows")
	first := flag.Int("first", 0, "number of the first company (files that must not share companies start apart)")
	gbk := flag.Bool("gbk", false, "encode in GBK")
	out := flag.String("o", "rows.csv", "file to write")
	flag.Parse()
	if err := write(*out, *n, *first, *gbk); err != nil {
		log.Fatal(err)
	}
}

func write(path string, n, first int, gbk bool) error {
	typ, _ := license.DefaultCatalog().Type("11100000000013338W001")
	ex := typ.Example("11310000MB2F00011G", "")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	var dst io.Writer = bw
	if gbk {
		dst = simplifiedchinese.GBK.NewEncoder().Writer(bw)
	}
	w := csv.NewWriter(dst)
	if err := w.Write(importer.Header(typ)); err != nil {
		return err
	}
	for i := first; i < first+n; i++ {
		code, err := license.CompleteUSCC(fmt.Sprintf("91310000%09d", 600000000+i))
		if err != nil {
			return err
		}
		row := []string{fmt.Sprintf("迁移测试商贸有限公司%06d", i), code, "310115", fmt.Sprintf("31011500%07d", i), "2018-07-02", "", ""}
		for _, fl := range typ.Fields {
			row = append(row, ex.Fields[fl.Key])
		}
		if err := w.Write(row); err != nil {
			return err
		}
	}
	if w.Flush(); w.Error() != nil {
		return w.Error()
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}
