package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/labstack/echo/v5"

	"zhengzhao/internal/limits"
	"zhengzhao/registry"
	"zhengzhao/registry/importer"
)

// importBatchRequest is the body of POST /api/v1/import: one batch of rows
// of one license type for the caller's department, as `zhengzhao import`
// read them from a file.
type importBatchRequest struct {
	// Type is the license type code of every row.
	Type string `json:"type"`
	// Department, when set, must be the caller's (a check that the file
	// goes where the operator meant).
	Department string           `json:"department,omitempty"`
	Rows       []importBatchRow `json:"rows"`
}

type importBatchRow struct {
	// Row is the row's line in its file, for its errors.
	Row     int                   `json:"row"`
	Request registry.IssueRequest `json:"request"`
}

// importBatchAnswer is what POST /api/v1/import answers: one result per
// row, in order.
type importBatchAnswer struct {
	Results []importer.Result `json:"results"`
}

// importBatch issues one batch of rows through the same code as the
// console's import: 200 with a result per row (issued, existing or its
// errors in Chinese); a batch over limits.ImportBatchRows rows or
// limits.ImportBatchBody bytes is 413; a failure of the ledger or the
// store, or a type the department does not issue (403), fails the whole
// batch, and nothing of it is reported: the client sends it again.
func (s *Server) importBatch(c *echo.Context) error {
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, limits.ImportBatchBody+1))
	if err != nil {
		return bodyReadError(err)
	}
	if len(body) > limits.ImportBatchBody {
		return limitError(limits.ExceededBytes("import_batch_body", "一批导入的请求体", limits.ImportBatchBody), "")
	}
	if err := strictJSON(body); err != nil {
		return err
	}
	var req importBatchRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "malformed_json", Message: jsonErrorMessage(err), Field: jsonErrorField(err)}
	}
	if len(req.Rows) > limits.ImportBatchRows {
		return limitError(limits.Exceeded("import_batch_rows", "一批导入的行数", limits.ImportBatchRows), "rows")
	}
	a := actor(c)
	if req.Department != "" && req.Department != a.Department {
		return &apiError{Status: http.StatusForbidden, Code: "forbidden", Field: "department",
			Message: fmt.Sprintf("令牌属于部门 %s，不能为部门 %s 导入", a.Department, req.Department)}
	}
	t, ok := s.reg.Catalog().Type(req.Type)
	if !ok {
		return &apiError{Status: http.StatusBadRequest, Code: "invalid", Field: "type", Message: fmt.Sprintf("未知的证照类型代码 %q", req.Type)}
	}
	rows := make([]importer.Row, len(req.Rows))
	for i, r := range req.Rows {
		q := r.Request
		if q.TypeCode == "" {
			q.TypeCode = t.Code
		}
		if q.TypeCode != t.Code {
			return &apiError{Status: http.StatusBadRequest, Code: "invalid", Field: fmt.Sprintf("rows[%d].request.type", i),
				Message: fmt.Sprintf("第 %d 行的证照类型 %s 与本批的类型 %s 不同", r.Row, q.TypeCode, t.Code)}
		}
		if q.RequestKey == "" { // the same key the importer gives a row
			q.RequestKey = importer.RequestKey(a.Department, q, "")
		}
		rows[i] = importer.Row{Line: r.Row, Request: q}
	}
	res, err := importer.Local(s.reg, a, t)(c.Request().Context(), rows)
	if err != nil {
		return err
	}
	for _, r := range res {
		if len(r.Errs) == 0 && !r.Existing {
			s.metrics.issued.Inc()
		}
	}
	return c.JSON(http.StatusOK, importBatchAnswer{Results: res})
}
