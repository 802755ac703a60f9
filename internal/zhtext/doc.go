// Package zhtext tells whether a message meant for a Chinese reader is
// Chinese: it has Han characters and no English prose. Tests of every page,
// PDF and human CLI output run what a person reads through Check, so that
// an English sentence left under a Chinese heading ("SM2 signature
// verifies with key…", "purpose is required") fails a test instead of
// reaching a window clerk.
//
// Codes, identifiers, units and abbreviations are not English prose and
// pass: "SM2", "PDF", "GB/T 36904", "urn:uscc:…", "ZZ1:", "RFC 3339",
// "POST /api/v1/verify", a file name. Two or more Latin words in a row with
// lower-case letters ("is required", "check character is 7") are.
package zhtext
