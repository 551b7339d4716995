package upstream

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
)

// ModelTokenEnv names the variable holding the model credential the fake
// Messages API accepts (the bottle's real one; the agent holds a
// placeholder).
const ModelTokenEnv = "DEMO_MODEL_TOKEN"

// Credential verdicts the model API logs (never the value itself).
const (
	CredReal  = "real"  // the configured token, in the header of its kind
	CredOther = "other" // something else: a placeholder, the agent's own
	CredNone  = "none"
)

// ModelHandler is a minimal Anthropic Messages API: POST /v1/messages with
// an anthropic-version header answers one assistant message, as JSON or,
// when the request says "stream": true, as server-sent events. It accepts
// the token as x-api-key (an API key) or Authorization: Bearer (an OAuth
// token) and logs, per request, which header carried it and whether it was
// the real one; a wrong or missing credential gets the API's 401.
func ModelHandler(token string, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header, cred := modelCredential(r, token)
		body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		var req struct {
			Model    string `json:"model"`
			Stream   bool   `json:"stream"`
			System   any    `json:"system"`
			Messages []struct {
				Role    string `json:"role"`
				Content any    `json:"content"`
			} `json:"messages"`
		}
		jerr := json.Unmarshal(body, &req)
		log.Info("model request", "method", r.Method, "host", r.Host, "path", r.URL.Path,
			"credential", cred, "credential_header", header, "anthropic_version", r.Header.Get("Anthropic-Version"),
			"stream", req.Stream, "model", req.Model, "messages", len(req.Messages))
		switch {
		case r.URL.Path != "/v1/messages" || r.Method != http.MethodPost:
			apiError(w, http.StatusNotFound, "not_found_error", "the fake model API serves POST /v1/messages only")
		case cred != CredReal:
			apiError(w, http.StatusUnauthorized, "authentication_error", "invalid x-api-key")
		case r.Header.Get("Anthropic-Version") == "":
			apiError(w, http.StatusBadRequest, "invalid_request_error", "anthropic-version: header is required")
		case jerr != nil || req.Model == "" || len(req.Messages) == 0:
			apiError(w, http.StatusBadRequest, "invalid_request_error", "the body needs model and messages")
		default:
			last := req.Messages[len(req.Messages)-1]
			text := fmt.Sprintf("fake-model: %d message(s) received; the last one says: %s", len(req.Messages), contentText(last.Content))
			if req.Stream {
				streamReply(w, req.Model, text)
			} else {
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(message(req.Model, text))
			}
		}
	})
}

// modelCredential says which header carried a credential and whether it is
// the real token. Both headers at once is not real: egress drops what the
// agent sent before it injects.
func modelCredential(r *http.Request, token string) (header, verdict string) {
	key, auth := r.Header.Get("X-Api-Key"), r.Header.Get("Authorization")
	switch {
	case key != "" && auth != "":
		return "x-api-key+authorization", CredOther
	case key != "":
		return "x-api-key", realOr(key, token)
	case strings.HasPrefix(auth, "Bearer "):
		return "authorization", realOr(strings.TrimPrefix(auth, "Bearer "), token)
	case auth != "":
		return "authorization", CredOther
	}
	return "", CredNone
}

func realOr(got, token string) string {
	if subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1 {
		return CredReal
	}
	return CredOther
}

func contentText(c any) string {
	switch v := c.(type) {
	case string:
		return v
	case []any:
		var b strings.Builder
		for _, p := range v {
			if m, ok := p.(map[string]any); ok {
				if s, ok := m["text"].(string); ok {
					b.WriteString(s)
				}
			}
		}
		return b.String()
	}
	return ""
}

func message(model, text string) map[string]any {
	return map[string]any{
		"id": "msg_fake0001", "type": "message", "role": "assistant", "model": model,
		"content":     []any{map[string]any{"type": "text", "text": text}},
		"stop_reason": "end_turn", "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": 10, "output_tokens": len(strings.Fields(text))},
	}
}

// streamReply writes the Messages API's event sequence for one text block,
// the text split over several deltas.
func streamReply(w http.ResponseWriter, model, text string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	fl, _ := w.(http.Flusher)
	event := func(name string, v map[string]any) {
		v["type"] = name
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b)
		if fl != nil {
			fl.Flush()
		}
	}
	start := message(model, "")
	start["content"] = []any{}
	start["stop_reason"] = nil
	event("message_start", map[string]any{"message": start})
	event("content_block_start", map[string]any{"index": 0, "content_block": map[string]any{"type": "text", "text": ""}})
	for rs := []rune(text); len(rs) > 0; {
		n := min(len(rs), 16)
		event("content_block_delta", map[string]any{"index": 0, "delta": map[string]any{"type": "text_delta", "text": string(rs[:n])}})
		rs = rs[n:]
	}
	event("content_block_stop", map[string]any{"index": 0})
	event("message_delta", map[string]any{"delta": map[string]any{"stop_reason": "end_turn", "stop_sequence": nil}, "usage": map[string]any{"output_tokens": 5}})
	event("message_stop", map[string]any{})
}

func apiError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}})
}
