package pipelock

import (
	"bytes"
	"crypto/tls"
	"net"
	"testing"
	"time"
)

// clientHello captures the bytes a real TLS client sends first.
func clientHello(t testing.TB, sni string) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() {
		c := tls.Client(a, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_ = c.Handshake()
	}()
	_ = b.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 16<<10)
	n, _ := b.Read(buf)
	return buf[:n]
}

func peek(t testing.TB, data []byte) (string, []byte, error) {
	a, b := net.Pipe()
	defer a.Close()
	go func() {
		_ = b.SetWriteDeadline(time.Now().Add(10 * time.Second))
		_, _ = b.Write(data)
		b.Close()
	}()
	return peekSNI(a, a)
}

func TestPeekSNI(t *testing.T) {
	for _, sni := range []string{"api.anthropic.com", "localhost"} {
		hello := clientHello(t, sni)
		got, raw, err := peek(t, hello)
		if err != nil || got != sni {
			t.Fatalf("sni %q: got %q, %v", sni, got, err)
		}
		if !bytes.Equal(raw, hello) {
			t.Fatalf("replayed bytes differ from the ClientHello (%d vs %d bytes)", len(raw), len(hello))
		}
	}
	if _, _, err := peek(t, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err == nil {
		t.Fatal("plain HTTP accepted as a ClientHello")
	}
}

func FuzzPeekSNI(f *testing.F) {
	f.Add(clientHello(f, "example.com"))
	f.Add([]byte{0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00})
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sni, raw, err := peek(t, data)
		if err != nil {
			return
		}
		if !bytes.HasPrefix(data, raw) {
			t.Fatalf("replay bytes %x are not a prefix of the input", raw)
		}
		_ = sni
	})
}
