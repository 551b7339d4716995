package upstream

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestModelHandler: the fake Messages API answers only the real
// credential, in either header, never both at once, and says in its log
// which it saw without ever logging the value.
func TestModelHandler(t *testing.T) {
	const token = "real-model-token-0123456789"
	body := `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi there"}]}`
	for _, tc := range []struct {
		name     string
		hdr      map[string]string
		body     string
		status   int
		cred     string
		wantBody string
	}{
		{"api key", map[string]string{"X-Api-Key": token}, body, 200, CredReal, `the last one says: hi there"`},
		{"oauth", map[string]string{"Authorization": "Bearer " + token}, body, 200, CredReal, `"type":"message"`},
		{"placeholder", map[string]string{"X-Api-Key": "sk-ant-api03-placeholder"}, body, 401, CredOther, "authentication_error"},
		{"both headers", map[string]string{"X-Api-Key": token, "Authorization": "Bearer " + token}, body, 401, CredOther, "authentication_error"},
		{"basic auth", map[string]string{"Authorization": "Basic " + token}, body, 401, CredOther, "authentication_error"},
		{"none", nil, body, 401, CredNone, "authentication_error"},
		{"no version", map[string]string{"X-Api-Key": token, "Anthropic-Version": ""}, body, 400, CredReal, "anthropic-version"},
		{"no messages", map[string]string{"X-Api-Key": token}, `{"model":"m"}`, 400, CredReal, "invalid_request_error"},
		{"stream", map[string]string{"X-Api-Key": token}, strings.Replace(body, `"max_tokens"`, `"stream":true,"max_tokens"`, 1), 200, CredReal, "event: message_stop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := ModelHandler(token, slog.New(slog.NewJSONHandler(&logs, nil)))
			req := httptest.NewRequest(http.MethodPost, "https://model.demo.test/v1/messages", strings.NewReader(tc.body))
			req.Header.Set("Anthropic-Version", "2023-06-01")
			for k, v := range tc.hdr {
				if v == "" {
					req.Header.Del(k)
				} else {
					req.Header.Set(k, v)
				}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.wantBody) {
				t.Fatalf("got %d %q; want %d with %q", rec.Code, rec.Body.String(), tc.status, tc.wantBody)
			}
			var line map[string]any
			if err := json.Unmarshal(logs.Bytes(), &line); err != nil || line["credential"] != tc.cred {
				t.Errorf("log %q: credential %v, want %s", logs.String(), line["credential"], tc.cred)
			}
			if strings.Contains(logs.String(), token) {
				t.Errorf("the log holds the credential: %s", logs.String())
			}
		})
	}
}
