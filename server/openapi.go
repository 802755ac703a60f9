package server

import (
	"net/http"

	"github.com/labstack/echo/v5"
)

// openAPI serves the OpenAPI 3 document of the JSON API. A test checks that
// its paths and methods are exactly the /api/v1 routes the server has.
func (s *Server) openAPI(c *echo.Context) error {
	b, err := webFS.ReadFile("web/openapi.json")
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
}
