package app_test

import (
	"net/http"
	"strings"
	"testing"
)

// WHIP and WHEP refuse, with problems the contract describes, whatever
// they cannot serve; real media through them is tested in internal/calls.
func TestWHIPAndWHEPRefuseWhatTheyCannotServe(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ana, _ := e.signup("ana@example.com", "Ana")
		bo, boU := e.signup("bo@example.com", "Bo")
		eve, _ := e.signup("eve@example.com", "Eve")
		conv := ana.direct(t, boU.ID, http.StatusCreated)
		call := ana.startCall(t, conv.ID, "video")
		for _, kind := range []string{"whip", "whep"} {
			path := "/api/v1/calls/" + call.ID + "/" + kind
			sdp := http.Header{"Content-Type": {"application/sdp"}}
			eve.header = sdp
			eve.do("POST", path, "v=0\r\n").problem(t, 404, "not-found")
			bo.header = http.Header{"Content-Type": {"application/json"}}
			bo.do("POST", path, `{"sdp":"v=0"}`).problem(t, 415, "unsupported-media-type")
			bo.header = sdp
			bo.do("POST", path, "this is not a session description").problem(t, 400, "bad-sdp")
			bo.do("POST", path, strings.Repeat("a=x\r\n", 8<<10)).problem(t, 413, "too-large")
			bo.header = nil
			bo.do("DELETE", path+"/0123456789abcdef01234567", nil).problem(t, 404, "not-found")
		}
		ana.callAction(t, call.ID, "end")
		ana.header = http.Header{"Content-Type": {"application/sdp"}}
		ana.do("POST", "/api/v1/calls/"+call.ID+"/whip", "v=0\r\n").problem(t, 409, "call-ended")
	})
}
