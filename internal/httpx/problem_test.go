package httpx

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
)

// Extension members go out beside the standard ones and never replace one.
func TestProblemExtensionsGoOutBesideTheStandardMembers(t *testing.T) {
	p := NewProblem(402, "payment-required", "Payment required", "the wallet is short")
	p.Extensions = map[string]any{"hold": map[string]any{"amount": 2250, "currency": "USD"}, "status": 200, "detail": "forged"}
	w := httptest.NewRecorder()
	WriteError(w, httptest.NewRequest("POST", "/", nil), nil, p)
	var got struct {
		Type   string `json:"type"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
		Hold   struct {
			Amount   int64  `json:"amount"`
			Currency string `json:"currency"`
		} `json:"hold"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if w.Code != 402 || got.Status != 402 || got.Detail != "the wallet is short" || got.Type != ProblemTypePrefix+"payment-required" ||
		got.Hold.Amount != 2250 || got.Hold.Currency != "USD" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}
