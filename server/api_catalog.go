package server

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/labstack/echo/v5"

	"zhengzhao/credential"
	"zhengzhao/registry"
)

// The managed catalog in the API: every type version, and the admin's
// endpoints that add a type or a new version of one.

// typeVersionJSON is a type version as the API answers it: the type, its
// digest and whether it is anchored, and the definition exactly as digested.
type typeVersionJSON struct {
	*registry.TypeVersion
	Definition json.RawMessage `json:"definition"`
}

func typeVersionOut(tv *registry.TypeVersion) typeVersionJSON {
	return typeVersionJSON{TypeVersion: tv, Definition: tv.Definition()}
}

// catalogRoutes adds the catalog endpoints to the API group.
func (s *Server) catalogRoutes(api *echo.Group) {
	api.GET("/catalog/types", s.listTypeVersions)
	api.POST("/catalog/types", s.addType, s.require(registry.RoleAdmin))
	api.POST("/catalog/types/:code/versions", s.addTypeVersion, s.require(registry.RoleAdmin))
}

// jsonLDContext serves the Zhengzhao JSON-LD context that every credential
// lists after the VC 2.0 context: public and cacheable, like the schema it
// is.
func (s *Server) jsonLDContext(c *echo.Context) error {
	h := c.Response().Header()
	h.Set("Cache-Control", "public, max-age=86400")
	h.Set("Access-Control-Allow-Origin", "*")
	return c.Blob(http.StatusOK, "application/ld+json", credential.ZhengzhaoContext())
}

// listTypeVersions answers every version of every type of the catalog.
func (s *Server) listTypeVersions(c *echo.Context) error {
	tvs, err := s.reg.TypeVersions(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]typeVersionJSON, len(tvs))
	for i := range tvs {
		out[i] = typeVersionOut(&tvs[i])
	}
	return c.JSON(http.StatusOK, out)
}

// addType adds a license type (version 1) from a definition in the form of
// a catalog.json entry.
func (s *Server) addType(c *echo.Context) error {
	def, err := readDefinition(c)
	if err != nil {
		return err
	}
	tv, err := s.reg.AddType(c.Request().Context(), actor(c), def)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, typeVersionOut(tv))
}

// addTypeVersion adds the next version of the type in the path.
func (s *Server) addTypeVersion(c *echo.Context) error {
	def, err := readDefinition(c)
	if err != nil {
		return err
	}
	tv, err := s.reg.AddTypeVersion(c.Request().Context(), actor(c), c.Param("code"), def)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, typeVersionOut(tv))
}

// readDefinition reads a type definition body: at most MaxBody bytes of
// JSON free of the characters strictJSON refuses. Its members are checked
// by license.ParseType.
func readDefinition(c *echo.Context) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, MaxBody+1))
	if err != nil {
		return nil, bodyReadError(err)
	}
	if len(body) > MaxBody {
		return nil, &apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "request body is larger than 1 MiB"}
	}
	if err := strictJSON(body); err != nil {
		return nil, err
	}
	return body, nil
}
