// Package openapi holds the OpenAPI documents of 7.2.2.9 (data upload, API
// call, data download), repaired from the seed's damaged listings (every
// repair is in spec/INTERPRETATIONS.md), and validates requests and
// responses against them with kin-openapi.
package openapi

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

//go:embed *.yaml
var files embed.FS

// Doc is one OpenAPI document and the router over its paths.
type Doc struct {
	// Name is the file name, e.g. "upload.yaml".
	Name   string
	T      *openapi3.T
	router routers.Router
}

var docs = func() []*Doc {
	d, err := Load()
	if err != nil {
		panic(err)
	}
	return d
}()

// Load parses and validates every embedded document, in file-name order.
func Load() ([]*Doc, error) {
	entries, err := files.ReadDir(".")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	var out []*Doc
	for _, n := range names {
		b, _ := files.ReadFile(n)
		l := openapi3.NewLoader()
		t, err := l.LoadFromData(b)
		if err != nil {
			return nil, fmt.Errorf("openapi %s: %w", n, err)
		}
		if err := t.Validate(context.Background()); err != nil {
			return nil, fmt.Errorf("openapi %s: %w", n, err)
		}
		r, err := gorillamux.NewRouter(t)
		if err != nil {
			return nil, fmt.Errorf("openapi %s: %w", n, err)
		}
		out = append(out, &Doc{Name: n, T: t, router: r})
	}
	return out, nil
}

// Docs returns the loaded documents.
func Docs() []*Doc { return docs }

// Source returns the text of a document by file name.
func Source(name string) ([]byte, error) { return files.ReadFile(name) }

// ErrNoRoute says no document has the request's path.
var ErrNoRoute = errors.New("no API at this path")

// ErrMethod says a document has the path but not the method.
var ErrMethod = errors.New("method not allowed on this path")

// Route is the operation a request matched.
type Route struct {
	Doc         *Doc
	OperationID string
	route       *routers.Route
	params      map[string]string
}

// Find returns the operation for r, ErrNoRoute or ErrMethod.
func Find(r *http.Request) (*Route, error) {
	methodOnly := false
	for _, d := range docs {
		route, params, err := d.router.FindRoute(r)
		if err == nil {
			return &Route{Doc: d, OperationID: route.Operation.OperationID, route: route, params: params}, nil
		}
		if errors.Is(err, routers.ErrMethodNotAllowed) {
			methodOnly = true
		}
	}
	if methodOnly {
		return nil, ErrMethod
	}
	return nil, ErrNoRoute
}

// ValidateRequest checks r, whose whole body is body, against its
// operation: parameters (the vehicle_id header, path, cookie) and the
// request body's media type and schema. The error says what is wrong.
func (rt *Route) ValidateRequest(ctx context.Context, r *http.Request, body []byte) error {
	r2 := r.Clone(ctx)
	r2.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.RequestValidationInput{
		Request:    r2,
		PathParams: rt.params,
		Route:      rt.route,
		Options:    &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	return openapi3filter.ValidateRequest(ctx, in)
}

// ValidateResponse checks an answer (status, header, whole body) to r
// against its operation.
func (rt *Route) ValidateResponse(ctx context.Context, r *http.Request, status int, header http.Header, body []byte) error {
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: rt.params, Route: rt.route},
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(ctx, in)
}

// PathParam returns a path parameter of the matched route.
func (rt *Route) PathParam(name string) string { return rt.params[name] }
