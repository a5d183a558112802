package notify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// notifySMTP is a small SMTP server on 127.0.0.1 that speaks EHLO, optional
// STARTTLS and AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP and QUIT, and keeps
// what it received.
type notifySMTP struct {
	Addr     string
	TLS      *tls.Config // offer STARTTLS when set
	User     string      // offer AUTH PLAIN when set
	Password string
	// RejectRcpt makes RCPT TO of this address fail with 550.
	RejectRcpt string

	ln   net.Listener
	mu   *sync.Mutex // pointers, so that test tables may hold servers by value
	msgs *[]notifyMail
	wg   *sync.WaitGroup
}

type notifyMail struct {
	From     string
	To       []string
	Data     []byte
	TLS      bool
	AuthUser string
}

func startNotifySMTP(t *testing.T, s *notifySMTP) *notifySMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ln, s.Addr = ln, ln.Addr().String()
	s.mu, s.msgs, s.wg = new(sync.Mutex), new([]notifyMail), new(sync.WaitGroup)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(conn)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *notifySMTP) mails() []notifyMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]notifyMail(nil), *s.msgs...)
}

func (s *notifySMTP) serve(conn net.Conn) {
	defer func() { conn.Close() }()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(conn)
	reply := func(format string, args ...any) { tp.PrintfLine(format, args...) }
	var cur notifyMail
	reply("220 notify-test ESMTP")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			ext := []string{"notify-test"}
			if s.TLS != nil && !cur.TLS {
				ext = append(ext, "STARTTLS")
			}
			if s.User != "" {
				ext = append(ext, "AUTH PLAIN")
			}
			ext = append(ext, "8BITMIME")
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				reply("250%s%s", sep, e)
			}
		case "STARTTLS":
			if s.TLS == nil || cur.TLS {
				reply("502 no")
				continue
			}
			reply("220 go ahead")
			tc := tls.Server(conn, s.TLS)
			if err := tc.Handshake(); err != nil {
				return
			}
			conn = tc
			tp = textproto.NewConn(tc)
			cur = notifyMail{TLS: true}
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			if s.User == "" || !strings.EqualFold(mech, "PLAIN") {
				reply("504 unsupported")
				continue
			}
			raw, err := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(raw), "\x00")
			if err != nil || len(parts) != 3 || parts[1] != s.User || parts[2] != s.Password {
				reply("535 5.7.8 authentication credentials invalid")
				continue
			}
			cur.AuthUser = parts[1]
			reply("235 2.7.0 ok")
		case "MAIL":
			if s.User != "" && cur.AuthUser == "" {
				reply("530 5.7.0 authentication required")
				continue
			}
			cur.From = angle(arg)
			reply("250 ok")
		case "RCPT":
			to := angle(arg)
			if to == s.RejectRcpt {
				reply("550 5.1.1 no such user %s", to)
				continue
			}
			cur.To = append(cur.To, to)
			reply("250 ok")
		case "DATA":
			reply("354 end with .")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			cur.Data = data
			s.mu.Lock()
			*s.msgs = append(*s.msgs, cur)
			s.mu.Unlock()
			cur = notifyMail{TLS: cur.TLS, AuthUser: cur.AuthUser}
			reply("250 queued")
		case "RSET", "NOOP":
			reply("250 ok")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("500 unknown command")
		}
	}
}

// angle returns the address between < and > in a MAIL or RCPT argument.
func angle(arg string) string {
	_, rest, _ := strings.Cut(arg, "<")
	addr, _, _ := strings.Cut(rest, ">")
	return addr
}

// notifyCert makes a self-signed certificate for 127.0.0.1 and returns the
// server configuration and a pool that trusts it.
func notifyCert(t *testing.T) (*tls.Config, *x509.CertPool, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "notify-test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	srv := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	return srv, pool, der
}
