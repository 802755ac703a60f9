package verifier

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	"zhengzhao/credential"
	"zhengzhao/ledger"
	"zhengzhao/ledger/tlog"
	"zhengzhao/license"
)

// kindAnchored is the ledger event kind of a license anchor.
const kindAnchored = ledger.KindLicenseAnchored

// issuerPrefix starts a credential's issuer id.
const issuerPrefix = "urn:uscc:"

// when formats a time for a reason, in China Standard Time.
func when(t time.Time) string { return t.In(license.ChinaTime).Format(timeLayout) }

// timeLayout is how times are shown in reasons: Beijing time to the second.
const timeLayout = "2006-01-02 15:04:05"

// text builds a reason from pieces with one allocation, for the checks
// every valid license passes (formatting showed in the verification time).
type text []byte

func (t text) s(s string) text      { return append(t, s...) }
func (t text) at(tm time.Time) text { return tm.In(license.ChinaTime).AppendFormat(t, timeLayout) }
func (t text) n(n uint64) text      { return strconv.AppendUint(t, n, 10) }
func (t text) pass() outcome        { return outcome{status: CheckPass, reason: string(t)} }
func (v *run) text(s string) text   { return append(text(v.scratch[:0]), s...) }

// typeNames names license types in results, from the default catalog.
var typeNames = sync.OnceValue(func() map[string]string {
	names := make(map[string]string)
	for _, t := range license.DefaultCatalog().Types() {
		names[t.Code] = t.Name
	}
	return names
})

// Verify checks a license credential (bare, or a Document with a ledger
// receipt) against the trust bundle b at p.At, offline or, when p.Online is
// set, online. Every check is recorded in the Result, in order, even after a
// failure. It returns an error only for bad usage (nil bundle, zero p.At);
// bad input gives a Result whose failing check says why.
//
// Online, the ledger's anchor and status are used and a receipt in the
// input is not needed (nor checked). Offline, the status is the bundle's as
// of its IssuedAt, and the anchor is checked only when the input carries a
// receipt.
func Verify(ctx context.Context, input []byte, b *TrustBundle, p Policy) (*Result, error) {
	if b == nil {
		return nil, fmt.Errorf("%w: nil trust bundle", ErrUsage)
	}
	if p.At.IsZero() {
		return nil, fmt.Errorf("%w: Policy.At is required", ErrUsage)
	}
	ix := b.idx
	if ix == nil {
		ix = newIndex(b) // a bundle built in memory: trusted as given
	}
	v := &run{ctx: ctx, b: b, ix: ix, p: p}
	v.result = Result{Mode: ModeOffline, AsOf: b.IssuedAt, BundleSequence: b.Sequence, Checks: v.checks[:0]}
	v.r = &v.result
	if p.Online != nil {
		v.r.Mode, v.r.AsOf, v.r.BundleSequence = ModeOnline, p.At, 0
	} else if !b.ValidUntil.IsZero() && p.At.After(b.ValidUntil) {
		v.r.StaleDays = int((p.At.Sub(b.ValidUntil) + 24*time.Hour - 1) / (24 * time.Hour))
	}
	switch detectForm(input) {
	case FormPDF:
		v.verifyPDF(input)
	case FormPhoto:
		v.verifyPhoto(input)
	case FormCompact:
		v.verifyCompact(string(bytes.TrimSpace(input)))
	case FormLive:
		v.verifyLive(string(bytes.TrimSpace(input)))
	default:
		v.verifyJSON(input)
	}
	return v.finish(), nil
}

// verifyJSON checks a credential or a Document.
func (v *run) verifyJSON(input []byte) {
	if !v.add(NameFormat, v.format(input)) {
		v.skipRest("未检查：输入无法读取")
		return
	}
	v.add(NameIssuer, v.issuer())
	v.add(NameProof, v.proof())
	v.lookupAnchor()
	v.add(NameKey, v.key())
	v.add(NameType, v.licenseType())
	v.add(NameValidity, v.validity())
	v.add(NameStatus, v.status())
	v.add(NameAnchor, v.anchor())
}

// run is the state of one verification.
type run struct {
	ctx context.Context
	b   *TrustBundle
	ix  *index
	p   Policy
	r   *Result

	cred    *credential.Credential
	receipt *ledger.Receipt
	id      license.Identifier
	idErr   error

	// issuer and proof
	uscc          string // issuer USCC
	dept          *deptEntry
	issuerUnknown bool
	vmUSCC, vmKey string // from the verificationMethod
	vmErr         error
	signingKey    *keyEntry

	// digests, computed once
	hashed                             bool
	proofHash, documentHash, signature []byte
	hashErr                            error

	// anchor: online from the ledger, offline from a receipt
	state        *ledger.LicenseState
	notOnLedger  bool
	ledgerErr    error
	receiptCheck outcome
	anchorAt     time.Time
	anchorKnown  bool

	// verdicts the validity and status checks lead to
	statusVerdict Verdict
	validVerdict  Verdict
	// keyUnknown: the key was declared compromised and nothing proves the
	// license was anchored before; authenticity is unknown, not disproved.
	keyUnknown bool

	scratch [160]byte // where reasons are built

	// The Result and its checks live in the run: one allocation.
	result Result
	checks [10]Check

	// what the shared checks read, from a credential or a compact form
	created               string // RFC 3339 signing time
	validFrom, validUntil string // RFC 3339; validFrom empty when not carried
	compact               *credential.Compact
}

// outcome is a check's status and reason before it is recorded.
type outcome struct {
	status CheckStatus
	reason string
	detail string // the English of the errors in reason, for Check.Detail
}

// pass is a passed check; its reason is built by concatenation, as
// formatting costs show on the hot path.
func pass(reason string) outcome { return outcome{status: CheckPass, reason: reason} }

// fail is a failed check. An error among args is said in Chinese in the
// reason (Describe) and kept in English in the check's Detail.
func fail(format string, args ...any) outcome {
	var details []string
	for i, a := range args {
		if err, ok := a.(error); ok && err != nil {
			args[i] = Describe(err)
			details = append(details, err.Error())
		}
	}
	return outcome{status: CheckFail, reason: fmt.Sprintf(format, args...), detail: strings.Join(details, "; ")}
}

func skip(reason string) outcome { return outcome{status: CheckSkip, reason: reason} }

// add records a check and reports whether it did not fail.
func (v *run) add(name string, o outcome) bool {
	v.r.Checks = append(v.r.Checks, Check{Name: name, Status: o.status, Reason: o.reason, Detail: o.detail})
	return o.status != CheckFail
}

func (v *run) skipRest(reason string) {
	for _, n := range []string{NameIssuer, NameProof, NameKey, NameType, NameValidity, NameStatus, NameAnchor} {
		v.add(n, skip(reason))
	}
}

// format reads the input: a Document or a bare credential, parsed strictly.
func (v *run) format(input []byte) outcome {
	if v.r.Form == "" {
		v.r.Form = FormCredential
	}
	if len(input) > credential.MaxSize {
		return fail("输入有 %d 字节，超过 %d 字节的上限", len(input), credential.MaxSize)
	}
	// The credential is dropped when Verify returns, and the strings the
	// Result keeps are cloned.
	c, rest, err := credential.ParseToVerify(input, "credential")
	if err != nil {
		return fail("不是电子证照凭证：%v", err)
	}
	receipt, err := documentReceipt(rest)
	if err != nil {
		return fail("不是电子证照凭证：%v", err)
	}
	v.cred, v.receipt = c, receipt
	v.validFrom, v.validUntil = c.ValidFrom, c.ValidUntil
	if c.Proof != nil {
		v.created = c.Proof.Created
	}
	if v.r.Form == FormCredential && receipt != nil {
		v.r.Form = FormDocument
	}
	v.id, v.idErr = license.ParseIdentifier(c.Identifier())
	v.r.Identifier = strings.Clone(c.Identifier())
	v.r.TypeCode = strings.Clone(c.CredentialSubject.TypeCode)
	if name, ok := typeNames()[c.CredentialSubject.TypeCode]; ok {
		v.r.TypeName = name
	} else {
		v.r.TypeName = strings.Clone(c.CredentialSubject.Name)
	}
	if receipt != nil {
		return pass("格式正确的证照凭证，附上链回执")
	}
	return pass("格式正确的证照凭证")
}

// issuer checks the issuer is a department in the bundle and that the
// proof, the subject and the identifier all name that same department.
func (v *run) issuer() outcome {
	c := v.cred
	uscc, ok := strings.CutPrefix(c.Issuer.ID, issuerPrefix)
	if !ok {
		return fail("签发机构标识 %q 不是 urn:uscc:<统一社会信用代码>", c.Issuer.ID)
	}
	v.uscc = uscc
	v.r.Issuer = strings.Clone(uscc)
	if c.Proof != nil {
		v.vmUSCC, v.vmKey, v.vmErr = credential.ParseVerificationMethod(c.Proof.VerificationMethod)
	}
	de := v.ix.depts[uscc]
	if de == nil {
		v.issuerUnknown = true
		v.r.IssuerName = strings.Clone(c.Issuer.Name)
		return fail("签发机构 %s 不在信任包的部门中", uscc)
	}
	v.dept = de
	v.r.IssuerName = de.dept.Name
	switch {
	case c.Proof != nil && v.vmErr == nil && v.vmUSCC != uscc:
		return fail("由另一部门（%s）签名，不是签发机构", v.vmUSCC)
	case c.CredentialSubject.IssuerCode != uscc:
		return fail("证照颁发机构代码 %s 不是签发机构", c.CredentialSubject.IssuerCode)
	case v.idErr == nil && v.id.IssuerUSCC != uscc:
		return fail("电子证照标识中的签发机构是另一部门（%s）", v.id.IssuerUSCC)
	}
	return v.issuedBy()
}

// issuedBy is the issuer check passed, for a credential or a compact form.
func (v *run) issuedBy() outcome {
	return v.text("由").s(v.dept.dept.Name).s("（").s(v.uscc).s("）签发，该部门在信任包中").pass()
}

// useKey looks up the department key a proof names and, if it is usable,
// makes it the signing key; otherwise it returns the failed proof check.
func (v *run) useKey(keyID string) (outcome, bool) {
	ke := v.dept.keys[keyID]
	if ke == nil {
		return fail("密钥 %s 不是信任包中 %s 的密钥", keyID, v.uscc), false
	}
	if ke.err != nil {
		return fail("密钥 %s 的证书不可用：%v", keyID, ke.err), false
	}
	v.signingKey = ke
	return outcome{}, true
}

// proof checks the SM2 proof with the department key it names.
func (v *run) proof() outcome {
	c := v.cred
	if v.dept == nil {
		return skip(notInBundle)
	}
	if c.Proof == nil {
		return fail("凭证没有数字签名")
	}
	if v.vmErr != nil {
		return fail("签名方法标识不是 urn:uscc:<统一社会信用代码>#<密钥标识>：%v", v.vmErr)
	}
	if o, ok := v.useKey(v.vmKey); !ok {
		return o
	}
	if err := c.VerifyProof(v.signingKey.pub); err != nil {
		var pe *credential.ProofError
		switch {
		case errors.As(err, &pe) && pe.Reason == credential.ReasonSignature:
			return fail("SM2 签名用密钥 %s 验证不通过：内容被改动，或由其他密钥签名", v.vmKey)
		case errors.As(err, &pe):
			return fail("签名不合格：%v", err)
		}
		return fail("签名不合格：%v", err)
	}
	return v.text("SM2 签名用密钥 ").s(v.vmKey).s(" 验证通过").pass()
}

// lookupAnchor finds when the license was anchored: online from the ledger,
// offline from a receipt (checking it now; the anchor check reports it).
func (v *run) lookupAnchor() {
	if v.p.Online != nil {
		st, err := v.p.Online.License(v.ctx, v.r.Identifier)
		switch {
		case errors.Is(err, ledger.ErrNotFound):
			v.notOnLedger = true
		case err != nil:
			v.ledgerErr = err
		case st == nil:
			v.notOnLedger = true
		default:
			v.state = st
			at := st.AnchoredAt
			v.anchorAt, v.anchorKnown = at, true
			v.r.AnchoredAt = &at
		}
		return
	}
	if v.receipt == nil {
		return
	}
	var at time.Time
	v.receiptCheck, at = v.checkReceipt()
	if v.receiptCheck.status == CheckPass {
		v.anchorAt, v.anchorKnown = at, true
		v.r.AnchoredAt = &at
	}
}

// key checks the signing key was valid when the license was anchored (or,
// without a proven anchor, when it says it was signed): inside its validity
// and its certificate's, chained to a root, and before the end of its
// signing validity. A rotation ends it at the rotation time. A declared
// compromise makes the signer's own time worthless: then only a proven
// anchor time (a receipt, the online ledger, or the bundle's list of what
// was anchored before the compromise) can pass.
func (v *run) key() outcome {
	ke := v.signingKey
	if ke == nil {
		return skip("未检查：没有可用的签名密钥")
	}
	at, did, why := v.anchorAt, "anchored at ", ""
	if !v.anchorKnown {
		if v.created == "" {
			return fail("不知道上链时间，签名也没有签署时间")
		}
		created, err := time.Parse(time.RFC3339, v.created)
		if err != nil {
			return fail("签署时间 %q 不是 RFC 3339 时间", v.created)
		}
		at, did, why = created, "signed at ", "（账本上没有，按签署时间判断）"
		if v.p.Online == nil {
			why = "（离线无法得知上链时间，按签署时间判断）"
		}
	}
	k := ke.key
	event := func() string { return chineseEvent(did, at) + why } // for the reasons below but the last
	switch {
	case at.Before(k.ValidFrom) || (!k.ValidUntil.IsZero() && at.After(k.ValidUntil)):
		return fail("证照%s 时，密钥 %s 不在使用期内", event(), k.KeyID)
	case at.Before(ke.notBefore) || at.After(ke.notAfter):
		return fail("证照%s 时，密钥 %s 的证书不在有效期内", event(), k.KeyID)
	case ke.chainErr != nil:
		return fail("密钥 %s 的证书不是平台根证书签发的：%v", k.KeyID, ke.chainErr)
	case k.RevokedFrom == nil:
		return v.text("证照").s(eventVerb(did)).at(at).s(why).s(" 时，密钥 ").s(k.KeyID).s(" 有效").pass()
	case !k.Compromised() && !k.RevokedFrom.After(at):
		return fail("签名密钥 %s 已于 %s 轮换停用，该证照%s晚于停用时间", k.KeyID, when(*k.RevokedFrom), chineseEvent(did, at))
	case !k.Compromised():
		return pass("证照" + event() + " 时，密钥 " + k.KeyID + " 有效；该密钥 " + when(*k.RevokedFrom) + " 起才轮换停用")
	case v.anchorKnown && !k.RevokedFrom.After(at):
		return fail("签名密钥 %s 已于 %s 声明泄露，该证照于 %s 才上链，晚于泄露时间", k.KeyID, when(*k.RevokedFrom), when(at))
	case v.anchorKnown:
		return pass("密钥 " + k.KeyID + " 已于 " + when(*k.RevokedFrom) + " 声明泄露，但该证照在此之前（" + when(at) + "）已上链")
	case v.ix.anchoredBeforeCompromise(k.KeyID, v.shownSignature()):
		return pass("密钥 " + k.KeyID + " 已于 " + when(*k.RevokedFrom) + " 声明泄露；信任包载明此签名在此之前已上链")
	}
	v.keyUnknown = true
	return fail("签名密钥 %s 已于 %s 声明泄露，无法离线确认该证照在此之前上链（请在线核验，或使用带上链回执的证照文件）", k.KeyID, when(*k.RevokedFrom))
}

// chineseEvent is "上链于 T" or "签名于 T" for a reason.
func chineseEvent(did string, at time.Time) string { return eventVerb(did) + when(at) }

// eventVerb is "上链于 " or "签名于 ".
func eventVerb(did string) string {
	if did == "anchored at " {
		return "上链于 "
	}
	return "签名于 "
}

// notInBundle is the reason of checks skipped for an unknown issuer.
const notInBundle = "未检查：签发机构不在信任包中"

// shownSignature is the signature of what was shown: the credential's
// proofValue, or the QR form's COSE signature.
func (v *run) shownSignature() []byte {
	if v.compact != nil {
		return v.compact.Signature()
	}
	if v.hashes() != nil {
		return nil
	}
	return v.signature
}

// licenseType checks the department may issue the type and the identifier
// carries the same type code.
func (v *run) licenseType() outcome {
	code := v.r.TypeCode
	if v.dept == nil {
		return skip(notInBundle)
	}
	if !v.dept.types[code] {
		return fail("%s 无权签发证照类型 %s", v.uscc, code)
	}
	if v.idErr != nil {
		return fail("电子证照标识不符合 GB/T 36904：%v", v.idErr)
	}
	if v.id.TypeCode != code {
		return fail("电子证照标识中的类型 %s 与证照类型代码 %s 不一致", v.id.TypeCode, code)
	}
	return v.text(v.uscc).s(" 有权签发证照类型 ").s(code).pass()
}

// validity checks Policy.At is within validFrom..validUntil.
func (v *run) validity() outcome {
	var from, until time.Time
	var err error
	if v.validFrom != "" {
		if from, err = time.Parse(time.RFC3339, v.validFrom); err != nil {
			v.validVerdict = VerdictInvalid
			return fail("有效期起始 %q 不是 RFC 3339 时间", v.validFrom)
		}
	}
	if v.validUntil != "" {
		if until, err = time.Parse(time.RFC3339, v.validUntil); err != nil {
			v.validVerdict = VerdictInvalid
			return fail("有效期截止 %q 不是 RFC 3339 时间", v.validUntil)
		}
	}
	if from.IsZero() { // the compact form carries only the end
		if !until.IsZero() && v.p.At.After(until) {
			v.validVerdict = VerdictExpired
			return fail("已于 %s 过期", when(until))
		}
		if until.IsZero() {
			return pass("长期有效")
		}
		return v.text("有效期至 ").at(until).pass()
	}
	at := v.p.At
	switch {
	case at.Before(from):
		v.validVerdict = VerdictNotYetValid
		return fail("%s 起才生效", when(from))
	case !until.IsZero() && at.After(until):
		v.validVerdict = VerdictExpired
		return fail("已于 %s 过期", when(until))
	case until.IsZero():
		return v.text("自 ").at(from).s(" 起长期有效").pass()
	}
	return v.text("有效期 ").at(from).s(" 至 ").at(until).pass()
}

// status checks the license is active: online per the ledger, offline per
// its department's signed status list in the bundle. Offline it fails
// closed: a bundle past its valid_until, a missing, unusable or expired
// list give "status unknown", never valid.
func (v *run) status() outcome {
	if v.p.Online != nil {
		switch {
		case v.ledgerErr != nil:
			return fail("账本无法访问：%v", v.ledgerErr)
		case v.notOnLedger:
			return fail("账本上没有此证照")
		}
		if v.state.Status == license.StatusSuperseded && v.state.SupersededBy != "" {
			v.statusVerdict = VerdictSuperseded
			v.r.SupersededBy = v.state.SupersededBy
			return fail("%s（账本，截至 %s）：%s，以 %s 为准", v.state.Status.Label(), when(v.p.At), license.ReasonLabel(v.state.Reason), v.state.SupersededBy)
		}
		return v.statusOutcome(v.state.Status, v.state.Reason, "（账本，截至 "+when(v.p.At)+"）")
	}
	if v.dept == nil {
		return skip(notInBundle)
	}
	le, n, index, val, err := v.statusEntry()
	if err != nil {
		return v.statusUnknown("无法确认状态：%v", err)
	}
	st, ok := license.StatusFromListValue(uint8(val))
	if !ok {
		return v.statusUnknown("无法确认状态：状态列表 %d 第 %d 项为未定义的值", n, index)
	}
	if !st.Final() { // a final status stays true: old data proves it as well as new
		if v.r.StaleDays > 0 {
			return v.statusUnknown("无法确认：状态数据已过期 %d 天（信任包第 %d 版有效至 %s），请更新信任包", v.r.StaleDays, v.b.Sequence, when(v.b.ValidUntil))
		}
		if l := le.list; v.p.At.Before(l.ValidFrom.Add(-clockSkew)) || v.p.At.After(l.ValidUntil) {
			return v.statusUnknown("无法确认状态：状态列表 %d 已过期或尚未生效（有效期 %s 至 %s）", n, when(l.ValidFrom), when(l.ValidUntil))
		}
	}
	if st == license.StatusActive {
		return v.text("有效（状态列表 ").n(uint64(n)).s(" 第 ").n(uint64(index)).s(" 项，").s(v.ix.asOf).s("）").pass()
	}
	return v.statusOutcome(st, "", "（状态列表 "+strconv.Itoa(n)+" 第 "+strconv.Itoa(index)+" 项，"+v.ix.asOf+"）")
}

// statusEntry finds the checked status list the license's entry is in,
// with the list number and the index in it: the bundle's copy (by the
// exact URL the credential names, else by department and number), or one
// fetched when Policy.Lists is set.
func (v *run) statusEntry() (le *listEntry, n, index int, val credential.ListStatus, err error) {
	if v.compact != nil {
		n, index = v.compact.StatusList, v.compact.StatusIndex
		le = v.ix.lists[listKey{v.compact.Issuer, n}]
	} else {
		if len(v.cred.CredentialStatus) != 1 {
			return nil, 0, 0, 0, fmt.Errorf("凭证有 %d 个状态条目，应为 1 个", len(v.cred.CredentialStatus))
		}
		e := v.cred.CredentialStatus[0]
		if v.p.Lists == nil {
			if le = v.ix.listByURL[e.StatusListCredential]; le != nil && le.list.USCC == v.uscc {
				if val, err = le.list.Lookup(e); err != nil {
					return nil, 0, 0, 0, err
				}
				index, _ = e.Index()
				return le, le.list.Number, index, val, nil
			}
		}
		var uscc string
		if err := e.Validate(); err != nil {
			return nil, 0, 0, 0, fmt.Errorf("credentialStatus: %w", err)
		}
		if uscc, n, err = e.List(); err != nil {
			return nil, 0, 0, 0, fmt.Errorf("credentialStatus: %w", err)
		}
		if uscc != v.uscc {
			return nil, 0, 0, 0, fmt.Errorf("状态列表属于 %s，不是签发机构", uscc)
		}
		if index, err = e.Index(); err != nil {
			return nil, 0, 0, 0, err
		}
		le = v.ix.lists[listKey{uscc, n}]
		if v.p.Lists != nil {
			le = v.fetchList(uscc, n)
		}
	}
	switch {
	case le == nil:
		return nil, 0, 0, 0, fmt.Errorf("信任包中没有 %s 的第 %d 号状态列表", v.uscc, n)
	case le.err != nil:
		return nil, 0, 0, 0, fmt.Errorf("状态列表 %d 不可用：%w", n, le.err)
	}
	if val, err = le.list.List.Get(index); err != nil {
		return nil, 0, 0, 0, err
	}
	return le, n, index, val, nil
}

// clockSkew is how far ahead of the verifier's clock a status list may be
// dated and still count: the platform's and an office's clocks differ.
const clockSkew = 5 * time.Minute

// statusUnknown is the status check failed because the status cannot be
// known: never valid.
func (v *run) statusUnknown(format string, args ...any) outcome {
	v.statusVerdict = VerdictStatusUnknown
	return fail(format, args...)
}

// fetchList fetches and checks the status list the credential names.
func (v *run) fetchList(uscc string, n int) *listEntry {
	url := v.cred.CredentialStatus[0].StatusListCredential
	raw, err := v.p.Lists.FetchStatusList(v.ctx, url)
	if err != nil {
		return &listEntry{err: fmt.Errorf("状态列表 %s 无法获取：%w", url, err)}
	}
	l, err := v.ix.checkList(raw, uscc, n)
	if err != nil {
		return &listEntry{err: fmt.Errorf("状态列表 %s 不可用：%w", url, err)}
	}
	return &listEntry{list: l}
}

// statusOutcome is the status check for a license status.
func (v *run) statusOutcome(s license.Status, reason, asOf string) outcome {
	if s == license.StatusActive {
		return pass("有效" + asOf)
	}
	if !s.Valid() {
		v.statusVerdict = VerdictInvalid
		return fail("未知状态 %q", s)
	}
	v.statusVerdict = verdictOf(s)
	if s == license.StatusSuperseded && reason == "" {
		// A status list has no room for the successor's identifier, but
		// the next version's follows from this one's: same serial, version
		// plus one. A later change may have superseded that one too.
		if next, err := v.id.Next(); v.idErr == nil && err == nil {
			return fail("%s%s：这是第 %s 版，已有新版本，以第 %s 版 %s 或更新的版本为准", s.Label(), asOf, v.id.Version, next.Version, next.String())
		}
		return fail("%s%s：以新版本为准", s.Label(), asOf)
	}
	if reason != "" {
		return fail("%s%s：%s", s.Label(), asOf, license.ReasonLabel(reason))
	}
	return fail("%s%s", s.Label(), asOf)
}

// anchor checks the ledger holds this exact credential: online against the
// ledger's anchor, offline against the receipt. Without either it is
// skipped, never passed.
func (v *run) anchor() outcome {
	if v.p.Online == nil {
		if v.compact != nil {
			return skip("离线未核对上链（二维码不含上链回执）")
		}
		if v.receipt == nil {
			return skip("离线未核对上链（没有上链回执）")
		}
		return v.receiptCheck
	}
	switch {
	case v.ledgerErr != nil:
		return skip("未检查：账本无法访问")
	case v.notOnLedger:
		return fail("账本上没有此证照")
	}
	a := v.state.Anchor
	if o, ok := v.matchAnchor(&a, "账本记录"); !ok {
		return o
	}
	return pass("已于 " + when(v.state.AnchoredAt) + " 上链（日志序号 " + strconv.FormatUint(v.state.LogIndex, 10) + "）")
}

// checkReceipt verifies an offline receipt: the entry is this credential's
// anchor, the checkpoint is signed by the log key, and the entry is included
// in that checkpoint's tree. It returns the anchoring time.
// Offline the checkpoint must be one the bundle vouches for: its own, or an
// earlier one it proves consistent with its own.
func (v *run) checkReceipt() (outcome, time.Time) {
	rc := v.receipt
	ev, err := ledger.DecodeEntry(rc.Entry) // bytes proven by the inclusion proof below
	if err != nil {
		return fail("回执中的条目不是账本事件：%v", err), time.Time{}
	}
	if ev.Kind != kindAnchored || ev.Anchor == nil {
		return fail("回执记录的是 %s 事件，不是证照上链", ev.Kind), time.Time{}
	}
	if o, ok := v.matchAnchor(ev.Anchor, "上链回执"); !ok {
		return o, time.Time{}
	}
	cp, err := v.ix.checkpoint(rc.Checkpoint)
	if err != nil {
		return fail("回执的检查点不是账本日志密钥签名的：%v", err), time.Time{}
	}
	if !v.ix.vouches(cp) && v.p.Online == nil {
		// Signed by the log key, but not a checkpoint this bundle vouches
		// for: a forked log could have signed it too.
		if cp.Size > v.ix.head.Size {
			return skip("回执的检查点（" + strconv.FormatUint(cp.Size, 10) + " 条）比信任包的新，未核对上链；请更新信任包"), time.Time{}
		}
		return skip("回执的检查点不在信任包中，无法证明与信任包的日志一致，未核对上链；请重新下载证照或在线核验"), time.Time{}
	}
	if rc.TreeSize != cp.Size {
		return fail("回执的树大小 %d 与其检查点的 %d 不符", rc.TreeSize, cp.Size), time.Time{}
	}
	if err := tlog.VerifyInclusion(rc.Entry, rc.LogIndex, rc.TreeSize, rc.InclusionProof, cp.Root); err != nil {
		return fail("默克尔包含证明验证不通过：%v", err), time.Time{}
	}
	return v.text("已于 ").at(ev.At).s(" 上链（日志第 ").n(rc.LogIndex).s(" 条，共 ").n(rc.TreeSize).s(" 条）").pass(), ev.At
}

// matchAnchor compares a ledger anchor with the credential.
func (v *run) matchAnchor(a *ledger.Anchor, where string) (outcome, bool) {
	switch {
	case a.Identifier != v.r.Identifier:
		return fail("%s是另一份证照的（%s）", where, a.Identifier), false
	case a.Issuer != v.uscc:
		return fail("%s中的签发机构是另一部门（%s）", where, a.Issuer), false
	case a.TypeCode != v.r.TypeCode:
		return fail("%s中的证照类型不同（%s）", where, a.TypeCode), false
	case v.vmErr == nil && a.KeyID != v.vmKey:
		return fail("%s中的签名密钥不同（%s）", where, a.KeyID), false
	}
	if v.cred == nil {
		return outcome{}, true // a compact form carries no digest to compare
	}
	if err := v.hashes(); err != nil {
		return fail("无法计算凭证摘要：%v", err), false
	}
	if !bytes.Equal(a.DocumentHash, v.documentHash) || !bytes.Equal(a.ProofHash, v.proofHash) || !bytes.Equal(a.Signature, v.signature) {
		return fail("凭证摘要与%s不符", where), false
	}
	return outcome{}, true
}

// hashes computes the credential's digests and signature once.
func (v *run) hashes() error {
	if !v.hashed {
		v.hashed = true
		v.proofHash, v.documentHash, v.hashErr = v.cred.Hashes()
		if v.hashErr == nil {
			v.signature, v.hashErr = v.cred.Signature()
		}
	}
	return v.hashErr
}

// parenthesized returns " (s)", or "" for an empty s.
func parenthesized(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// finish sets the verdict from the checks.
func (v *run) finish() *Result {
	r := v.r
	hard := v.validVerdict == VerdictInvalid || v.statusVerdict == VerdictInvalid
	for _, c := range r.Checks {
		if c.Status != CheckFail {
			continue
		}
		switch c.Name {
		case NameFormat, NameIssuer, NameProof, NameKey, NameType, NameAnchor, NameSeal, NameFace:
			hard = true
		}
	}
	switch {
	case v.issuerUnknown:
		r.Verdict = VerdictUnverifiable
	case v.keyUnknown && !hardExceptKey(r.Checks):
		r.Verdict = VerdictUnverifiable
	case hard:
		r.Verdict = VerdictInvalid
	case v.ledgerErr != nil:
		r.Verdict = VerdictUnverifiable
	case v.statusVerdict == VerdictStatusUnknown && v.validVerdict != "":
		r.Verdict = v.validVerdict // expired is certain; the status does not matter
	case v.statusVerdict != "":
		r.Verdict = v.statusVerdict
	case v.validVerdict != "":
		r.Verdict = v.validVerdict
	default:
		r.Verdict = VerdictValid
	}
	r.Valid = r.Verdict == VerdictValid
	return r
}

// hardExceptKey reports whether a check other than the key check failed
// in a way that makes the license invalid.
func hardExceptKey(checks []Check) bool {
	for _, c := range checks {
		if c.Status != CheckFail {
			continue
		}
		switch c.Name {
		case NameFormat, NameIssuer, NameProof, NameType, NameAnchor, NameSeal, NameFace:
			return true
		}
	}
	return false
}

// documentReceipt returns the receipt among the members of a Document
// other than its credential, or nil if it has none.
func documentReceipt(rest []credential.Member) (*ledger.Receipt, error) {
	var rc *ledger.Receipt
	for _, m := range rest {
		if m.Name != "receipt" {
			return nil, fmt.Errorf("document: unknown member %q", m.Name)
		}
		if string(m.JSON) == "null" {
			continue
		}
		rc = new(ledger.Receipt)
		if err := jsonv2.Unmarshal(m.JSON, rc, jsonv2.RejectUnknownMembers(true)); err != nil {
			return nil, fmt.Errorf("receipt: %w", err)
		}
	}
	return rc, nil
}
