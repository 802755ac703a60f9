// Package importer reads files of existing licenses for bulk migration:
// CSV (with Chinese or English column headers) and JSON Lines, for one
// department and one license type, in UTF-8 (with or without a byte-order
// mark) or GB18030/GBK, the encoding Excel saves CSV in on Chinese
// Windows. Every row becomes a registry.IssueRequest with a stable request
// key, so issuing the same file again issues nothing twice, or a list of
// row errors that name the row, the column and the rule, in Chinese.
//
// The console's CSV import, POST /api/v1/import and `zhengzhao import`
// all read files through this package and turn issue errors into row
// errors with IssueErrors.
package importer
