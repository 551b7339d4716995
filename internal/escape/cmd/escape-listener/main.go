// Command escape-listener is the sandbox-escape suite's "outside": it runs
// in a container on a bottle's egress side and logs, one JSON object per
// line on stdout, everything that reaches it. Raw TCP and UDP ports log the
// first bytes, port 53 logs DNS question names, and the HTTP(S) echo
// answers every request with what it received (headers also reflected as
// X-Echo-* response headers), so a test can see what got out.
package main

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/escape"
)

var log = slog.New(slog.NewJSONHandler(os.Stdout, nil))

func main() {
	tcp := flag.String("tcp", "", "comma-separated raw TCP ports to log")
	udp := flag.String("udp", "", "comma-separated UDP ports to log")
	dns := flag.Bool("dns", false, "log DNS questions on UDP and TCP port 53")
	httpAddr := flag.String("http", "", "plain HTTP echo address (e.g. :80)")
	httpsAddr := flag.String("https", "", "comma-separated HTTPS echo addresses (e.g. :443,:8443)")
	cert := flag.String("cert", "", "HTTPS certificate (PEM)")
	key := flag.String("key", "", "HTTPS key (PEM)")
	sshAddr := flag.String("sshgit", "", "ssh git upstream address (e.g. :22)")
	hostKey := flag.String("hostkey", "", "ssh host key (OpenSSH PEM)")
	authKey := flag.String("authkey", "", "the one client key allowed (authorized_keys line)")
	repos := flag.String("repos", "/srv", "folder of bare repositories for -sshgit")
	flag.Parse()

	for _, p := range split(*tcp) {
		go serveTCP(p, rawTCP)
	}
	for _, p := range split(*udp) {
		go serveUDP(p, false)
	}
	if *dns {
		go serveUDP("53", true)
		go serveTCP("53", dnsTCP)
	}
	if *httpAddr != "" {
		go func() { fatal("http", http.ListenAndServe(*httpAddr, http.HandlerFunc(echo))) }()
	}
	for _, addr := range split(*httpsAddr) {
		// HTTP/1.1 only: /reason writes its own status line on the raw
		// connection, which h2 has no room for.
		srv := &http.Server{Addr: addr, Handler: http.HandlerFunc(echo), TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}}
		go func() { fatal("https", srv.ListenAndServeTLS(*cert, *key)) }()
	}
	if *sshAddr != "" {
		go serveSSHGit(*sshAddr, *hostKey, *authKey, *repos)
	}
	time.Sleep(300 * time.Millisecond)
	log.Info("ready")
	select {}
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func fatal(what string, err error) {
	log.Error("listener failed", "what", what, "err", err)
	os.Exit(1)
}

func serveTCP(port string, handle func(net.Conn, string)) {
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		fatal("tcp "+port, err)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go handle(c, port)
	}
}

func rawTCP(c net.Conn, port string) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	// An ssh client waits for the server's banner before it says anything.
	if port == "22" || port == "2222" {
		_, _ = io.WriteString(c, "SSH-2.0-escape-listener\r\n")
	}
	buf := make([]byte, 512)
	n, _ := io.ReadAtLeast(c, buf, 1)
	log.Info("hit", "proto", "tcp", "port", port, "from", c.RemoteAddr().String(), "data", string(buf[:n]))
}

func dnsTCP(c net.Conn, port string) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	r := bufio.NewReader(c)
	var l uint16
	if err := binary.Read(r, binary.BigEndian, &l); err != nil {
		log.Info("hit", "proto", "tcp", "port", port, "from", c.RemoteAddr().String(), "data", "")
		return
	}
	msg := make([]byte, l)
	n, _ := io.ReadFull(r, msg)
	name, err := escape.QueryName(msg[:n])
	log.Info("hit", "proto", "dns-tcp", "port", port, "from", c.RemoteAddr().String(), "name", name, "err", errString(err))
}

func serveUDP(port string, dns bool) {
	pc, err := net.ListenPacket("udp", ":"+port)
	if err != nil {
		fatal("udp "+port, err)
	}
	buf := make([]byte, 4096)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			continue
		}
		if dns {
			name, err := escape.QueryName(buf[:n])
			log.Info("hit", "proto", "dns-udp", "port", port, "from", from.String(), "name", name, "err", errString(err))
			continue
		}
		log.Info("hit", "proto", "udp", "port", port, "from", from.String(), "data", string(buf[:n]))
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// echo answers with everything the request carried. The Authorization
// value is also echoed base64- and hex-encoded: the egress must not let an
// injected credential back to the agent in any of these forms; so is
// X-Api-Key (a route injecting a header of its own).
func echo(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	log.Info("hit", "proto", "http", "tls", r.TLS != nil, "from", r.RemoteAddr, "method", r.Method,
		"host", r.Host, "uri", r.RequestURI, "headers", r.Header, "body", string(body))
	for k, vs := range r.Header {
		for _, v := range vs {
			w.Header().Add("X-Echo-"+k, v)
		}
	}
	if to := r.URL.Query().Get("redirect_to"); r.URL.Path == "/redirect" && to != "" {
		// A redirect to another host: the client's next request there must
		// not carry what egress injected here.
		http.Redirect(w, r, to, http.StatusFound)
		return
	}
	auth := r.Header.Get("Authorization")
	key := r.Header.Get("X-Api-Key")
	switch r.URL.Path {
	case "/reason":
		// A hostile origin hands the injected credential back in the
		// status line's reason phrase, and as a response header name.
		tok := auth
		if _, t, ok := strings.Cut(auth, " "); ok {
			tok = t
		}
		if hj, ok := w.(http.Hijacker); ok {
			c, bw, err := hj.Hijack()
			if err == nil {
				fmt.Fprintf(bw, "HTTP/1.1 200 %s\r\nX-%s: 1\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n", auth, tok)
				bw.Flush()
				c.Close()
				return
			}
		}
		http.Error(w, "cannot hijack", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"method":   r.Method,
		"host":     r.Host,
		"uri":      r.RequestURI,
		"headers":  r.Header,
		"body":     string(body),
		"auth_b64": base64.StdEncoding.EncodeToString([]byte(auth)),
		"auth_hex": hex.EncodeToString([]byte(auth)),
		"key_b64":  base64.StdEncoding.EncodeToString([]byte(key)),
		"key_hex":  hex.EncodeToString([]byte(key)),
	})
}
