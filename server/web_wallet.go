package server

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"zhengzhao/internal/limits"
	"zhengzhao/license"
	"zhengzhao/registry"
	"zhengzhao/verifier"
)

// The wallet: a holder's own licenses, use codes and usage record. Every
// query goes through the registry's holder methods, which only ever return
// licenses whose holder code is the account's.

type walletData struct {
	// Cards are the holder's licenses, one a license with its current
	// version and earlier versions.
	Cards     []walletCard
	Truncated bool // the holder has more licenses than the page lists
	Codes     []codeView
	Usage     []usageView
}

type codeView struct {
	*registry.UseCode
	State    string
	ItemName string
	TypeName string
}

type usageView struct {
	registry.UsageRecord
	TypeName string
	ItemName string
	ModeName string
}

var modeNames = map[string]string{registry.UseByCode: "用证码", registry.UseByDuty: "依职能用证", registry.UseByVerify: "出示核验", registry.UseByLive: "亮证码核验"}

// walletPageMax is how many licenses the wallet page lists (the newest, as
// registry.HolderLicenses returns them); the download has them all.
const walletPageMax = 1000

func (s *Server) walletPage(c *echo.Context) error {
	ctx, a := c.Request().Context(), account(c).Actor()
	lics, err := s.reg.HolderLicenses(ctx, a)
	if err != nil {
		return s.webError(c, err)
	}
	d := walletData{Truncated: len(lics) == walletPageMax}
	d.Cards = s.walletCards(lics)
	codes, err := s.reg.UseCodes(ctx, a)
	if err != nil {
		return s.webError(c, err)
	}
	names := s.typeNames()
	byID := map[string]string{}
	for _, l := range lics {
		byID[l.Identifier] = l.Record.Name
	}
	for _, u := range codes {
		it, _ := s.reg.ServiceItem(u.ServiceItem)
		d.Codes = append(d.Codes, codeView{UseCode: u, State: u.State(s.now()), ItemName: it.Name, TypeName: byID[u.Identifier]})
	}
	recs, err := s.reg.UsageRecords(ctx, a)
	if err != nil {
		return s.webError(c, err)
	}
	for _, r := range recs {
		it, _ := s.reg.ServiceItem(r.ServiceItem)
		d.Usage = append(d.Usage, usageView{UsageRecord: r, TypeName: names[r.TypeCode], ItemName: it.Name, ModeName: modeNames[r.Mode]})
	}
	return s.page(c, http.StatusOK, "wallet", "我的证照", d)
}

type walletLicenseData struct {
	licenseView
	Items  []registry.ServiceItem
	Type   license.Type
	Code   string // a code just granted, shown once
	Grant  *registry.UseCode
	Values map[string]string
	Errors map[string]string
	Err    string
	Live   *liveCode // the live code (亮证码) current when the page was made
	// Versions are the license's versions, newest first (one when it was
	// never changed).
	Versions []versionView
}

func (d walletLicenseData) flash() (string, string) { return "", d.Err }

func (s *Server) walletLicenseData(c *echo.Context) (*walletLicenseData, error) {
	l, err := s.reg.HolderLicense(c.Request().Context(), account(c).Actor(), c.Param("id"))
	if err != nil {
		return nil, err
	}
	t, _ := s.reg.Catalog().Type(l.TypeCode)
	live, err := s.newLiveCode(c.Request().Context(), account(c).Actor(), l.Identifier)
	if err != nil {
		return nil, err
	}
	lics, err := s.reg.HolderLicenses(c.Request().Context(), account(c).Actor())
	if err != nil {
		return nil, err
	}
	return &walletLicenseData{licenseView: s.licenseView(l, nil), Items: s.reg.ServiceItems(), Type: t,
		Values: map[string]string{"minutes": "10"}, Errors: map[string]string{}, Live: live, Versions: versionsOf(l, lics)}, nil
}

func (s *Server) walletLicense(c *echo.Context) error {
	d, err := s.walletLicenseData(c)
	if err != nil {
		return s.webError(c, err)
	}
	return s.page(c, http.StatusOK, "wallet_license", d.L.Record.Name, d)
}

func (s *Server) walletCredential(c *echo.Context) error {
	l, err := s.reg.HolderLicense(c.Request().Context(), account(c).Actor(), c.Param("id"))
	if err != nil {
		return s.webError(c, err)
	}
	b, err := json.MarshalIndent(documentOf(l).Document, "", "  ")
	if err != nil {
		return err
	}
	setFilename(c, "attachment", fileSafe(l.Record.Name+"-"+l.Record.Number)+".json")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
}

func (s *Server) walletGrant(c *echo.Context) error {
	d, err := s.walletLicenseData(c)
	if err != nil {
		return s.webError(c, err)
	}
	form, _ := c.FormValues()
	d.Values["purpose"], d.Values["service_item"], d.Values["minutes"] = c.FormValue("purpose"), c.FormValue("service_item"), c.FormValue("minutes")
	for _, f := range form["fields"] {
		d.Values["field:"+f] = "1"
	}
	minutes, err := strconv.Atoi(c.FormValue("minutes"))
	if err != nil {
		minutes = 0
	}
	code, u, err := s.reg.GrantUseCode(c.Request().Context(), account(c).Actor(), registry.UseCodeRequest{
		Identifier: d.L.Identifier, Fields: form["fields"], Purpose: c.FormValue("purpose"), ServiceItem: c.FormValue("service_item"), Minutes: minutes,
	})
	if err != nil {
		if fes := fieldErrors(err); len(fes) > 0 {
			d.Errors, d.Err = formErrors(err), "未生成用证码：请按提示修改。"
			return s.page(c, http.StatusBadRequest, "wallet_license", d.L.Record.Name, d)
		}
		return s.webError(c, err)
	}
	d.Code, d.Grant = code, u
	return s.page(c, http.StatusOK, "wallet_license", "用证码 "+code, d)
}

func (s *Server) walletRevokeCode(c *echo.Context) error {
	if err := s.reg.RevokeUseCode(c.Request().Context(), account(c).Actor(), c.Param("id")); err != nil {
		return s.webError(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/wallet#codes")
}

// walletReadme is the short guide in every wallet download; %[1]s is the
// platform root's fingerprint, %[2]d the bundle's sequence, %[3]s its
// valid_until.
const walletReadme = `证照钱包（离线核验包）
======================

本压缩包包含您名下的全部电子证照：

  licenses/<证照编号>.json   证照凭证（W3C 可验证凭证，SM2 签名）及其上链存证回执（含默克尔包含证明）
  pdf/<证照编号>.pdf         带电子印章的证照 PDF，内嵌凭证与签章，单独即可核验
  qr/<证照编号>.png          证照二维码（ZZ1: 紧凑格式），qr/<证照编号>.txt 为其文本
  bundle.json               平台签发的信任包（第 %[2]d 版）：各部门证书、状态列表、账本检查点
  manifest.json             本包所含全部证照的数量与电子证照标识，可据此核对无遗漏

先核对平台根证书指纹
--------------------

信任包由平台根证书签名。本包中的信任包并不能证明它自己可信：任何人都能自制根证书签一份信任包。
请把下面的指纹与平台公开发布的指纹（平台公告、办事大厅公示）逐字比对，一致后再用它核验：

  平台根证书指纹（SM3）：%[1]s

离线核验（无需联网）：

  zhengzhao verify --root-fingerprint %[1]s --bundle bundle.json licenses/*.json pdf/*.pdf qr/*.png

每个文件都会逐项列出检查结果（格式、签发机构、数字签名、签名密钥、证照类型、有效期、证照状态、上链存证）。
退出码 0 表示全部有效，1 表示有证照无效，3 表示状态无法确认。
变更或延续前的旧版本也在包中，核验结果为“已变更”，应以新版本为准；已注销、已吊销、已撤销的证照核验结果也如实显示。
信任包的状态数据有效至 %[3]s；过期后核验结果为“无法确认”，而不是“有效”。
要获知最新状态，请重新下载钱包，或用 zhengzhao bundle 从平台取最新的信任包，或在线核验。
`

// walletZip downloads the wallet: every credential with its receipt, its
// PDF and QR code, the trust bundle, a README on verifying offline and a
// manifest listing every license in it. The zip is written to the response
// as it is built, reading limits.WalletPage licenses from the store at a
// time, so memory stays flat however many licenses the holder has, and
// none is left out. An error once the zip has started aborts the response,
// so the holder gets a failed download, never a zip missing licenses.
func (s *Server) walletZip(c *echo.Context) error {
	ctx := c.Request().Context()
	a := account(c).Actor()
	first, err := s.reg.HolderLicensesPage(ctx, a, 0, limits.WalletPage)
	if err != nil {
		return s.webError(c, err)
	}
	sb, err := s.reg.Bundle(ctx)
	if err != nil {
		return s.webError(c, err)
	}
	now := s.now()
	fp, _, _ := s.reg.Trust()
	readme := fmt.Sprintf(walletReadme, fp, sb.Sequence, sb.ValidUntil.In(license.ChinaTime).Format(time.DateTime))
	setFilename(c, "attachment", "wallet-"+now.In(license.ChinaTime).Format("20060102-1504")+".zip")
	c.Response().Header().Set(echo.HeaderContentType, "application/zip")
	c.Response().WriteHeader(http.StatusOK)
	if err := s.writeWallet(c, a, first, readme, sb.JSON, now); err != nil {
		s.log.Warn("wallet download aborted", "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// walletManifest is manifest.json in the wallet zip.
type walletManifest struct {
	Licenses    int      `json:"licenses"`
	Identifiers []string `json:"identifiers"`
}

func (s *Server) writeWallet(c *echo.Context, a registry.Actor, page []*registry.License, readme string, bundle []byte, now time.Time) error {
	ctx := c.Request().Context()
	zw := zip.NewWriter(c.Response())
	add := func(name string, data []byte) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: now})
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	if err := errors.Join(add("README.txt", []byte(readme)), add("bundle.json", bundle)); err != nil {
		return err
	}
	var manifest walletManifest
	seen := map[string]bool{}  // identifiers written: pages may overlap if a license is issued meanwhile
	names := map[string]bool{} // file names used
	for offset := 0; len(page) > 0; {
		for _, l := range page {
			if seen[l.Identifier] {
				continue
			}
			seen[l.Identifier] = true
			base := fileSafe(l.Record.Name + "-" + l.Record.Number)
			for n := 2; names[base]; n++ { // versions share a number
				base = fileSafe(fmt.Sprintf("%s-%s-%d", l.Record.Name, l.Record.Number, n))
			}
			names[base] = true
			if err := s.addWalletLicense(ctx, add, base, l); err != nil {
				return fmt.Errorf("license %s: %w", l.Identifier, err)
			}
			manifest.Identifiers = append(manifest.Identifiers, l.Identifier)
		}
		offset += len(page)
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		if page, err = s.reg.HolderLicensesPage(ctx, a, offset, limits.WalletPage); err != nil {
			return err
		}
	}
	manifest.Licenses = len(manifest.Identifiers)
	m, err := json.MarshalIndent(manifest, "", "  ")
	if err != nil {
		return err
	}
	if err := add("manifest.json", m); err != nil {
		return err
	}
	return zw.Close()
}

// addWalletLicense adds one license's credential (with a fresh receipt),
// PDF and QR code.
func (s *Server) addWalletLicense(ctx context.Context, add func(string, []byte) error, base string, l *registry.License) error {
	if err := s.reg.RefreshReceipt(ctx, l); err != nil {
		return err
	}
	doc, err := json.MarshalIndent(verifier.Document{Credential: json.RawMessage(l.Credential), Receipt: &l.Receipt}, "", "  ")
	if err != nil {
		return err
	}
	if err := add("licenses/"+base+".json", doc); err != nil {
		return err
	}
	if pdf, err := s.reg.PDF(ctx, l.Identifier); err == nil {
		if err := add("pdf/"+base+".pdf", pdf); err != nil {
			return err
		}
	} else if !errors.Is(err, registry.ErrConflict) { // licenses issued before sealing have no PDF
		return err
	}
	if qr, err := s.reg.QRCode(ctx, l.Identifier, qrPixels); err == nil {
		return errors.Join(add("qr/"+base+".png", qr), add("qr/"+base+".txt", []byte(l.Compact)))
	} else if !errors.Is(err, registry.ErrConflict) {
		return err
	}
	return nil
}

// fileSafe keeps a name usable as a file name in a zip.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(`/\:*?"<>|`, r) || r < 32 {
			return '_'
		}
		return r
	}, s)
}
