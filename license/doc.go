// Package license holds Zhengzhao's domain values for electronic licenses
// (电子证照). It does no I/O and imports only the standard library.
//
// It provides:
//
//   - the GB/T 36904 license identifier (电子证照标识), [Identifier], with its
//     ISO/IEC 7064 MOD 37,36 check character;
//   - validators for the unified social credit code (统一社会信用代码,
//     GB 32100-2015), [ValidateUSCC], and the citizen identity number
//     (公民身份号码, GB 11643-1999), [ValidateCitizenID];
//   - the license record with the GB/T 36903 core metadata, [Record];
//   - the license-type catalog (证照目录), [Catalog] and [Type], loaded from
//     JSON, with the built-in default embedded in the binary ([DefaultCatalog]);
//   - license status values, [Status].
//
// Every validation failure is a [*FieldError] that names the field and the
// rule that failed, and unwraps to [ErrInvalid]. Validators that can find
// several problems return them joined with errors.Join; use errors.As or walk
// the joined errors to reach each [*FieldError].
package license
