package testkit

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago,
// for servers that take a port number rather than a listener.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Server is a real third-party server the test started on loopback.
type Server struct {
	URL       string // http://127.0.0.1:PORT
	AccessLog string // nginx: its access log, one request a line
	out       *LockedBuffer
	pid       int
	done      chan struct{}               // closed when the process has exited
	start     func(tb testing.TB) *Server // starts it again (Restart)
}

// Restart kills the server (if it still runs) and starts it again with
// the same arguments, on the same port and data: a server that crashed
// and came back. It stops when the test that started it ends, though tb
// (a subtest's) reports its failures.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.Kill()
	n := s.start(tb)
	s.out, s.pid, s.done = n.out, n.pid, n.done
}

// Kill stops the server and everything it started (its process group)
// at once, as a crash would. It is safe to call twice.
func (s *Server) Kill() {
	syscall.Kill(-s.pid, syscall.SIGKILL)
	<-s.done
}

// startServer runs name args in its own process group, waits until GET
// URL/ready answers (any status), and kills it on cleanup. A server that
// never answers fails the test with its output.
func startServer(tb testing.TB, port int, ready string, name string, args ...string) *Server {
	tb.Helper()
	return startServerOwned(tb, tb, port, ready, name, args...)
}

// startServerOwned is startServer that reports to tb but stops when
// owner ends (a Restart in a subtest outlives the subtest).
func startServerOwned(tb, owner testing.TB, port int, ready string, name string, args ...string) *Server {
	tb.Helper()
	if _, err := exec.LookPath(name); err != nil {
		tb.Fatalf("%s is not installed: run scripts/install-deps.sh", name)
	}
	cmd := exec.Command(name, args...)
	out := &LockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	s := &Server{URL: "http://127.0.0.1:" + strconv.Itoa(port), out: out, pid: cmd.Process.Pid, done: make(chan struct{}),
		start: func(tb testing.TB) *Server { return startServerOwned(tb, owner, port, ready, name, args...) }}
	go func() { cmd.Wait(); close(s.done) }()
	owner.Cleanup(s.Kill)
	tb.Cleanup(func() {
		if tb.Failed() {
			tail := out.String()
			tail = tail[max(0, len(tail)-4000):]
			tb.Logf("%s output (tail):\n%s", name, tail)
		}
	})
	client := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := client.Get(s.URL + ready)
		if err == nil {
			resp.Body.Close()
			return s
		}
		select {
		case <-s.done:
			tb.Fatalf("%s exited before answering:\n%s", name, out.String())
		default:
		}
	}
	tb.Fatalf("%s did not answer on %s within 60s:\n%s", name, s.URL, out.String())
	return nil
}

// LockedBuffer collects a process's output while the test may read it.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Await waits until the output holds text, for up to a minute (a loaded
// machine is slow to start a process).
func (l *LockedBuffer) Await(tb testing.TB, text string) {
	tb.Helper()
	for start := time.Now(); time.Since(start) < 60*time.Second; time.Sleep(10 * time.Millisecond) {
		if strings.Contains(l.String(), text) {
			return
		}
	}
	tb.Fatalf("the process never said %q:\n%s", text, l.String())
}

// StartMoto starts moto's S3 server on a free loopback port and sets the
// AWS environment for it: fixed test credentials, no shared
// configuration, and no instance metadata (which would otherwise be
// asked over the network).
func StartMoto(tb testing.TB) *Server {
	tb.Helper()
	AWSTestEnv(tb)
	port := FreePort(tb)
	return startServer(tb, port, "/", "moto_server", "-H", "127.0.0.1", "-p", strconv.Itoa(port))
}

// VersityGWVersion is the versitygw release scripts/install-deps.sh
// builds (through the module proxy: Debian does not package it).
const VersityGWVersion = "v1.8.0"

// StartVersityGW starts versitygw's posix gateway on a free loopback port
// with the test credentials of AWSTestEnv, keeping its objects as files
// under dir (a bucket is a directory, metadata in extended attributes):
// a real S3-compatible server whose data outlives its process, for tests
// that kill it (Kill) and start it again on the same data (Restart),
// which moto, keeping everything in memory, cannot do.
func StartVersityGW(tb testing.TB, dir string) *Server {
	tb.Helper()
	AWSTestEnv(tb)
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		bin = filepath.Join(goBin(), "versitygw")
		if _, serr := os.Stat(bin); serr != nil {
			tb.Fatalf("versitygw is not installed: run scripts/install-deps.sh (it builds versitygw %s with go install)", VersityGWVersion)
		}
	}
	port := FreePort(tb)
	return startServer(tb, port, "/", bin, "--access", "testing", "--secret", "testing", "--region", "us-east-1",
		"--port", "127.0.0.1:"+strconv.Itoa(port), "--quiet", "posix", dir)
}

// goBin is where go install puts commands.
func goBin() string {
	if b := os.Getenv("GOBIN"); b != "" {
		return b
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return ""
	}
	return filepath.Join(strings.TrimSpace(string(out)), "bin")
}

// AWSTestEnv points the AWS SDK and CLI at test credentials only.
func AWSTestEnv(tb testing.TB) {
	tb.Helper()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
		"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		tb.Setenv(k, v)
	}
	// Unset, not empty: botocore (in moto too) takes AWS_PROFILE=""
	// for a profile named "" and fails. Setenv first so that cleanup
	// restores them.
	for _, k := range []string{"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"} {
		tb.Setenv(k, "")
		os.Unsetenv(k)
	}
}

// CreatePublicBucket creates bucket on moto and lets anyone read its
// objects, as a bucket behind a CDN is set up: clients then read the
// published repository over plain HTTP at URL/bucket/prefix. (An
// unsigned policy request would leave moto with an empty policy that
// breaks every later request.)
func (s *Server) CreatePublicBucket(tb testing.TB, bucket string) {
	tb.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired))
	if err != nil {
		tb.Fatal(err)
	}
	c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(s.URL)
		o.UsePathStyle = true
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		tb.Fatal(err)
	}
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/*"}]}`, bucket)
	if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policy)}); err != nil {
		tb.Fatal(err)
	}
}

// StartNginx serves dir read-only with nginx on a free loopback port,
// with its own configuration, pid file and logs in a temporary directory
// (never the system's).
func StartNginx(tb testing.TB, dir string) *Server {
	tb.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		tb.Fatal(err)
	}
	run := tb.TempDir()
	port := FreePort(tb)
	// Run as root (CI), nginx's workers would become nobody, who cannot
	// read a test's temporary directories.
	user := ""
	if os.Geteuid() == 0 {
		user = "user root root;\n"
	}
	conf := user + fmt.Sprintf(`worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 64; }
http {
	access_log %[1]s/access.log;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	types { application/json json; application/pgp-signature asc; application/x-rpm rpm; text/html html; application/xml xml; }
	default_type application/octet-stream;
	server {
		listen 127.0.0.1:%[2]d;
		root %[3]s;
		location ~ /\. { return 404; }
	}
}
`, run, port, abs)
	path := filepath.Join(run, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		tb.Fatal(err)
	}
	s := startServer(tb, port, "/", "nginx", "-c", path, "-p", run, "-g", "daemon off;")
	s.AccessLog = filepath.Join(run, "access.log")
	return s
}
