package pipelock

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/sidecarconfig"
)

// Requests in flight while the policy is swapped again and again: each
// request is decided by one whole policy, never a mix (run with -race).
func TestConcurrentRequestsAndReload(t *testing.T) {
	r := newRig(t, rigOpts{cfg: sidecarconfig.Pipelock{Allowlist: []string{"localhost"}, KnownSecretEnv: []string{"S"}},
		env: map[string]string{"S": secretVal}})
	sc := mustScanner(t)
	env := func(string) string { return secretVal }
	a, err := BuildPolicy(&sidecarconfig.Pipelock{Allowlist: []string{"localhost"}, KnownSecretEnv: []string{"S"}}, env, sc)
	if err != nil {
		t.Fatal(err)
	}
	b, err := BuildPolicy(&sidecarconfig.Pipelock{Allowlist: []string{"localhost", "other.example"}, KnownSecretEnv: []string{"S"}}, env, sc)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var swaps sync.WaitGroup
	swaps.Add(1)
	go func() {
		defer swaps.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				r.srv.SetPolicy(a)
			} else {
				r.srv.SetPolicy(b)
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 8 {
				leak := (w+i)%2 == 0
				u := r.httpsURL(fmt.Sprintf("/w%d/%d", w, i))
				if leak {
					u += "?k=" + secretVal
				}
				req, _ := http.NewRequest("GET", u, nil)
				st, body, err := r.do(req)
				switch {
				case err != nil:
					errs <- err.Error()
				case leak && (st != 403 || !strings.Contains(body, "dlp.known-secret")):
					errs <- fmt.Sprintf("leak passed: %d %q", st, body)
				case !leak && st != 200:
					errs <- fmt.Sprintf("clean request refused: %d %q", st, body)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	swaps.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
