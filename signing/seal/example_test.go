package seal_test

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"log"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"zhengzhao/render"
	"zhengzhao/signing"
	"zhengzhao/signing/seal"
)

func placeholderPNG() []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewNRGBA(image.Rect(0, 0, 1, 1))); err != nil {
		log.Fatal(err)
	}
	return b.Bytes()
}

func newSigner() signing.Signer {
	k, err := signing.GenerateKey()
	if err != nil {
		log.Fatal(err)
	}
	return signing.NewKeySigner(k)
}

// The platform makes a department's seal; the department seals a document;
// a window clerk verifies it.
func Example() {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	platform := newSigner()
	root, err := signing.NewRootCertificate(platform, "证照平台根", now, now.AddDate(10, 0, 0))
	if err != nil {
		log.Fatal(err)
	}
	dept := newSigner()
	deptCert, err := signing.NewDepartmentCertificate(platform, root, dept.Public(), "11430000006122244L", "湖南省市场监督管理局", now, now.AddDate(2, 0, 0))
	if err != nil {
		log.Fatal(err)
	}

	picture := placeholderPNG()
	if font, err := render.FindFont(); err == nil { // needs fonts-arphic-gbsn00lp
		if picture, err = seal.DrawPicture("湖南省市场监督管理局", "", font); err != nil {
			log.Fatal(err)
		}
	}
	s, err := seal.Make(platform, root, seal.Properties{
		ID:         "11430000006122244L-0001",
		Name:       "湖南省市场监督管理局",
		Signers:    []*smx509.Certificate{deptCert},
		CreateDate: now,
		ValidStart: now,
		ValidEnd:   now.AddDate(2, 0, 0),
		Picture:    seal.Picture{Type: seal.PictureTypePNG, Data: picture, WidthMM: seal.PictureDiameterMM, HeightMM: seal.PictureDiameterMM},
	})
	if err != nil {
		log.Fatal(err)
	}

	document := []byte("%PDF-1.7 …")
	digest := sm3.Sum(document)
	der, err := seal.Sign(dept, deptCert, s, digest[:], now.Add(time.Hour), "license.pdf")
	if err != nil {
		log.Fatal(err)
	}

	sig, err := seal.ParseSignature(der)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("genuine:", seal.VerifySignature(sig, document, []*smx509.Certificate{root}))

	var ce *seal.CheckError
	err = seal.VerifySignature(sig, []byte("%PDF-1.7 altered"), []*smx509.Certificate{root})
	if errors.As(err, &ce) {
		fmt.Println("altered:", ce.Check)
	}
	// Output:
	// genuine: <nil>
	// altered: data-hash
}
