// Package api embeds Parley's HTTP contract, api/openapi.yaml, so that the
// server can publish it and the tests can check the server against it.
package api

import _ "embed"

// Spec is the OpenAPI 3.1 document of the HTTP API.
//
//go:embed openapi.yaml
var Spec []byte
