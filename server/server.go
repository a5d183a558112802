package server

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"time"
)

// Options configure a Handler.
type Options struct {
	// Logger receives one Info record per request (the access log) and
	// warnings about files that could not be served. Nil discards.
	Logger *slog.Logger
}

// Handler serves one repository directory. It is safe for concurrent use.
type Handler struct {
	root *os.Root
	log  *slog.Logger
}

// New opens root for serving. The directory stays open until Close, so a
// rename of the directory itself does not change what is served.
func New(root string, opts Options) (*Handler, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", root, err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{root: r, log: log}, nil
}

// Close releases the repository directory.
func (h *Handler) Close() error { return h.root.Close() }

// contentTypes override mime.TypeByExtension, whose answer depends on the
// host's mime.types and knows none of the repository's own formats.
var contentTypes = map[string]string{
	".json": "application/json",
	".asc":  "application/pgp-signature",
	".fix":  "application/x-xz",
	".rpm":  "application/x-rpm",
	".xml":  "application/xml",
	".gz":   "application/gzip",
	".html": "text/html; charset=utf-8",
	".xz":   "application/x-xz",
	".zst":  "application/zstd",
}

func contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if ct, ok := contentTypes[ext]; ok {
		return ct
	}
	if ct := mime.TypeByExtension(ext); ct != "" {
		return ct
	}
	return "application/octet-stream"
}

// cacheControl follows the publishing contract: a published archive never
// changes content, so caches may keep it forever; everything else (indexes,
// signatures, pages, repodata, keys) may change at the next build and must
// be revalidated, which the ETag makes cheap.
func cacheControl(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".fix", ".rpm":
		return "public, max-age=31536000, immutable"
	}
	return "no-cache"
}

// etag is strong and costs one stat: a new build writes new files by
// rename, which changes the inode even when size and time coincide.
func etag(fi fs.FileInfo) string {
	return fmt.Sprintf(`"%x-%x-%x"`, fi.Size(), fi.ModTime().UnixNano(), inode(fi))
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	lw := &logWriter{ResponseWriter: w}
	defer func() {
		status := lw.status
		if status == 0 {
			status = http.StatusOK
		}
		h.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", status),
			slog.Int64("bytes", lw.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", r.RemoteAddr))
	}()
	lw.Header().Set("X-Content-Type-Options", "nosniff")
	h.serve(lw, r)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == "/healthz" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "ok")
		return
	}
	name, ok := cleanPath(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	fi, err := h.root.Stat(name)
	if err != nil {
		h.openFailed(w, r, name, err)
		return
	}
	if fi.IsDir() {
		if !strings.HasSuffix(r.URL.Path, "/") {
			// Built from the cleaned name, never from the request: a request
			// for "//evil.example" must not become a protocol-relative
			// redirect.
			loc := (&url.URL{Path: "/" + strings.TrimPrefix(name+"/", "./")}).EscapedPath()
			if r.URL.RawQuery != "" {
				loc += "?" + r.URL.RawQuery
			}
			w.Header().Set("Location", loc)
			w.WriteHeader(http.StatusMovedPermanently)
			return
		}
		name = path.Join(name, "index.html")
		if fi, err = h.root.Stat(name); err != nil {
			h.openFailed(w, r, name, err)
			return
		}
	} else if strings.HasSuffix(r.URL.Path, "/") {
		http.NotFound(w, r)
		return
	}
	// Checked before opening: opening a FIFO would block until a writer
	// appears.
	if !fi.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	f, err := h.root.Open(name)
	if err != nil {
		h.openFailed(w, r, name, err)
		return
	}
	defer f.Close()
	// Stat again through the open file: the name may have been replaced by a
	// rename since, and the validators must describe the bytes we send.
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() {
		if err != nil {
			h.log.Warn("stat failed", "path", name, "err", err)
		}
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", contentType(name))
	hdr.Set("Cache-Control", cacheControl(name))
	hdr.Set("ETag", etag(fi))
	http.ServeContent(w, r, name, fi.ModTime(), f)
}

// openFailed answers 404 for anything that is not there or not reachable
// (including a symlink that leaves the root, which os.Root refuses) and 403
// for a file the server may not read, which the operator will want to know.
func (h *Handler) openFailed(w http.ResponseWriter, r *http.Request, name string, err error) {
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case errors.Is(err, fs.ErrPermission):
		h.log.Warn("permission denied", "path", name, "err", err)
		http.Error(w, "403 forbidden", http.StatusForbidden)
		return
	default:
		h.log.Warn("cannot serve", "path", name, "err", err)
	}
	http.NotFound(w, r)
}

// logWriter records the status and body size for the access log. It keeps
// io.ReaderFrom so that large archives still go out through sendfile.
type logWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *logWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *logWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *logWriter) ReadFrom(src io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, src)
	}
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *logWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
