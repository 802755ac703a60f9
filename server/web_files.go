package server

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"zhengzhao/registry"
)

// The license files the pages link to: the PDF with the department's seal
// and the QR code, for the officer of the license's department and for its
// holder. (The seal pictures are public: GET /api/v1/departments/{uscc}/seal.png.)

// qrPixels is the size of the QR code PNG the pages show full screen.
const qrPixels = 720

func (s *Server) sendPDF(c *echo.Context, l *registry.License) error {
	pdf, err := s.reg.PDF(c.Request().Context(), l.Identifier)
	if err != nil {
		return s.webError(c, err)
	}
	setFilename(c, "attachment", fileSafe(l.Record.Name+"-"+l.Record.Number)+".pdf")
	return c.Blob(http.StatusOK, "application/pdf", pdf)
}

func (s *Server) sendQR(c *echo.Context, l *registry.License) error {
	png, err := s.reg.QRCode(c.Request().Context(), l.Identifier, qrPixels)
	if err != nil {
		return s.webError(c, err)
	}
	c.Response().Header().Set("Cache-Control", "private, max-age=300")
	setFilename(c, "inline", fileSafe(l.Record.Name+"-"+l.Record.Number)+".png")
	return c.Blob(http.StatusOK, "image/png", png)
}

func (s *Server) consolePDF(c *echo.Context) error {
	l, err := s.officerLicense(c)
	if err != nil {
		return s.webError(c, err)
	}
	return s.sendPDF(c, l)
}

func (s *Server) consoleQR(c *echo.Context) error {
	l, err := s.officerLicense(c)
	if err != nil {
		return s.webError(c, err)
	}
	return s.sendQR(c, l)
}

func (s *Server) walletPDF(c *echo.Context) error {
	l, err := s.reg.HolderLicense(c.Request().Context(), account(c).Actor(), c.Param("id"))
	if err != nil {
		return s.webError(c, err)
	}
	return s.sendPDF(c, l)
}

func (s *Server) walletQR(c *echo.Context) error {
	l, err := s.reg.HolderLicense(c.Request().Context(), account(c).Actor(), c.Param("id"))
	if err != nil {
		return s.webError(c, err)
	}
	return s.sendQR(c, l)
}
