package registry

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestStoreImportJobs (conformance): a job saved on one handle is read,
// updated and paged on another, as two instances on one database would.
func TestStoreImportJobs(t *testing.T) {
	eachStore(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		a, b := db.open(t), db.open(t)
		defer a.Close()
		defer b.Close()
		started := time.Date(2026, 12, 7, 9, 30, 0, 123456789, time.UTC)
		j := &ImportJob{ID: "job1", Department: "11310000MB2F00011G", TypeCode: "11100000000013338W001", TypeName: "营业执照",
			FileName: "存量.csv", Actor: "张三", Encoding: "gb18030", Started: started, Updated: started.Add(time.Second), Total: 250}
		if err := a.saveImportJob(ctx, j); err != nil {
			t.Fatal(err)
		}
		if _, err := b.importJob(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown job: %v", err)
		}
		got, err := b.importJob(ctx, "job1")
		if err != nil || !got.Started.Equal(started) || !got.Updated.Equal(started.Add(time.Second)) || !got.Finished.IsZero() || got.FileName != "存量.csv" || got.Total != 250 {
			t.Fatalf("job as read: %+v %v", got, err)
		}
		var errs []ImportJobError
		for i := range 150 {
			errs = append(errs, ImportJobError{Row: 250 - i, Field: "holderCode", Column: "持证主体代码", Rule: "check", Message: fmt.Sprintf("校验位错误 %d", i)})
		}
		errs = append(errs, ImportJobError{Row: 250, Field: "holder", Column: "持证主体", Rule: "required", Message: "必填"})
		if err := a.addImportErrors(ctx, "job1", 0, errs[:100]); err != nil {
			t.Fatal(err)
		}
		if err := b.addImportErrors(ctx, "job1", 100, errs[100:]); err != nil {
			t.Fatal(err)
		}
		if err := b.addImportErrors(ctx, "job1", 100, errs[100:]); err != nil { // a retried batch keeps nothing twice
			t.Fatal(err)
		}
		j.Done, j.Issued, j.Existing, j.Failed, j.Finished, j.Updated = 250, 90, 10, 150, started.Add(time.Minute), started.Add(time.Minute)
		if err := b.saveImportJob(ctx, j); err != nil {
			t.Fatal(err)
		}
		got, _ = a.importJob(ctx, "job1")
		if got.Done != 250 || got.Issued != 90 || got.Existing != 10 || got.Failed != 150 || !got.Finished.Equal(j.Finished) || !got.Updated.Equal(j.Updated) || got.TypeName != "营业执照" {
			t.Errorf("updated job: %+v", got)
		}
		n, rows, err := a.importErrorCounts(ctx, "job1")
		if err != nil || n != 151 || rows != 150 {
			t.Errorf("counts %d errors on %d rows, %v; want 151 on 150", n, rows, err)
		}
		page, err := a.importErrors(ctx, "job1", 100, 100)
		if err != nil || len(page) != 51 {
			t.Fatalf("second page: %d %v", len(page), err)
		}
		if first, _ := a.importErrors(ctx, "job1", 0, 2); first[0].Row != 101 || first[1].Row != 102 {
			t.Errorf("first page not in row order: %+v", first)
		}
		if last := page[len(page)-1]; last.Row != 250 || last.Rule != "required" || last.Column != "持证主体" {
			t.Errorf("last error %+v", last)
		}
	})
}
