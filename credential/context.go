package credential

import (
	"bytes"
	_ "embed"
)

// ContextPath is where the platform serves the Zhengzhao JSON-LD context,
// under its public URL: every credential it issues lists
// {public URL}{ContextPath} after ContextV2 in its @context.
const ContextPath = "/contexts/zhengzhao/v1"

// zhengzhaoContext defines the terms Zhengzhao credentials use beyond the
// VC 2.0 context: the ElectronicLicense type, every credentialSubject member
// (license.Record; "fields" is a JSON literal, so every type's field keys,
// the admin's included, are kept as they are), the type version, and the
// status terms (licenseStatus, statusReason, supersededBy) of documents
// that report a license's status. Term IRIs are in the deployment-
// independent namespace urn:zhengzhao:vocab:v1#. It is not @protected: the
// VC 2.0 context's type-scoped definitions of issuer, validFrom and
// validUntil on the credential itself must win over this context's
// subject-level ones (the license's issuing department's name and its
// dates, xsd:date).
//
//go:embed zhengzhao-v1.jsonld
var zhengzhaoContext []byte

// ZhengzhaoContext returns the JSON-LD context document served at
// ContextPath.
func ZhengzhaoContext() []byte { return bytes.Clone(zhengzhaoContext) }
