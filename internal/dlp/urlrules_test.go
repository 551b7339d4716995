package dlp

import (
	"encoding/base64"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
)

// TestURLCredentials: a connection string with a password someone set is
// found in any text; docs placeholders and URLs without a password pass.
func TestURLCredentials(t *testing.T) {
	for _, c := range []struct {
		text string
		want bool
	}{
		{"DATABASE_URL=postgres://app:Xk29fLq0vZ7pR4mW8s@db.internal:5432/prod", true},
		{`{"uri":"mongodb+srv://svc:h7%23Kq9%21mZ2xT4vB8n@cluster0.example.net/app"}`, true},
		{"redis://default:9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c@cache:6379/0", true},
		{"redis://default:deadbeef@cache:6379/0", false},
		{"amqp://worker:correct-horse-battery-9@mq:5672/", false},      // a passphrase of words: not judged random
		{"DATABASE_URL: postgres://app:devpass123@db:5432/app", false}, // a dev password in a compose file
		{"see https://user:Tr0ub4dor3xQ7mZ2k@example.com/private.git", true},

		{"postgres://user:password@localhost:5432/mydb", false},
		{"mongodb://<username>:<password>@cluster0.mongodb.net/test", false},
		{"amqp://guest:guest@localhost:5672//", false},
		{"redis://:${REDIS_PASSWORD}@localhost:6379/0", false},
		{"mysql://root:changeme@127.0.0.1/app", false},
		{"http://user:pa%2Fssword@dummy.faketld", false},
		{"http://Benutzer:Passwort@Server", false},
		{"cvs://:pserver:anoncvs@sources.redhat.com:/cvs/src", false},
		{"ssh://git@github.com/org/repo.git", false},
		{"https://user@example.com/r.git", false},
		{"http://user:***@dummy.faketld", false},
		{"time: 10:30:00@host", false},
		{"a://b:aaaaaaaa@c", false}, // repetitive
	} {
		if got := checkURLCredentials([]byte(c.text)) != nil; got != c.want {
			t.Errorf("checkURLCredentials(%q) = %v, want %v", c.text, got, c.want)
		}
	}
}

// TestURLBlob: long random tokens in paths and query values are data;
// digests, slugs, cursors that decode to text, click ids and signing
// parameters are not.
func TestURLBlob(t *testing.T) {
	g := probeGen{rand.New(rand.NewPCG(7, 7))}
	random := base64.RawURLEncoding.EncodeToString(g.bytes(72)) // 96 characters
	for _, c := range []struct {
		raw  string
		want bool
	}{
		{"https://h.test/c?d=" + random, true},
		{"https://h.test/p/" + random + ".gif", true},
		{"https://h.test/c?d=" + url.QueryEscape(base64.StdEncoding.EncodeToString(g.bytes(60))), true},

		{"https://h.test/v2/x/blobs/sha256:" + strings.Repeat("0123456789abcdef", 4), false},
		{"https://h.test/e?cursor=" + base64.RawURLEncoding.EncodeToString([]byte(`{"after":"2026-11-01T10:00:00Z","id":1234,"direction":"forward"}`)), false},
		{"https://h.test/publication/221313676_Linear_Time_Suffix_Array_Construction_Using_D-Critical_Substrings", false},
		{"https://h.test/l?gclid=" + random, false},
		{"https://h.test/v1/items?pageToken=" + random + "&maxResults=50", false},
		{"https://h.test/v.mp4?Expires=1&Signature=" + random + "&Key-Pair-Id=K2J", false},
		{"https://h.test/cb?code=" + random[:40] + "&state=" + random[40:83], false},
		{"https://h.test/search?q=how+to+rotate+a+token", false},
	} {
		u, err := url.Parse(c.raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := checkURLBlob(u) != nil; got != c.want {
			t.Errorf("checkURLBlob(%s) = %v, want %v", c.raw, got, c.want)
		}
	}
}

// The rules read attacker-controlled bytes: no input may panic them.
func FuzzURLRules(f *testing.F) {
	f.Add("postgres://app:Xk29fLq0vZ7p@db/prod", "/p/abc?d=AAAA&x=%zz")
	f.Add("://:@", "?=&;")
	f.Fuzz(func(t *testing.T, text, rawURL string) {
		checkURLCredentials([]byte(text))
		if u, err := url.Parse(rawURL); err == nil {
			checkURLBlob(u)
		}
	})
}
