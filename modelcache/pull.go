package modelcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// DefaultBaseURL is the Hugging Face hub.
const DefaultBaseURL = "https://huggingface.co"

// ErrChecksum is wrapped by the error for a download whose sha256 is not
// the hub's.
var ErrChecksum = errors.New("checksum mismatch")

// Puller downloads models from a hub.
type Puller struct {
	BaseURL string       // "" means DefaultBaseURL
	Client  *http.Client // nil: one with connection and header timeouts
	// Retries is how many times a dropped download is resumed within one
	// Pull (0: 3).
	Retries int
	// Progress, when set, is told the bytes on disk and the total.
	Progress func(done, total int64)
}

// remote is what the hub says about a file.
type remote struct {
	url    string // where the bytes are, after the hub's redirect
	size   int64  // -1 if unknown
	sha256 string // "" if the hub gave none
}

// Pulled says what Pull did.
type Pulled struct {
	Path       string
	Downloaded bool // false: it was cached already
	Verified   bool // against a sha256 from the hub
}

// Pull downloads r into c unless it is cached already.
func (p Puller) Pull(ctx context.Context, c Cache, r Ref) (Pulled, error) {
	dest := c.Path(r)
	if st, err := os.Stat(dest); err == nil && st.Mode().IsRegular() {
		return Pulled{Path: dest}, nil
	}
	meta, err := p.metadata(ctx, r)
	if err != nil {
		return Pulled{}, err
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return Pulled{}, err
	}
	partial := dest + partialSuffix
	retries := p.Retries
	if retries == 0 {
		retries = 3
	}
	for attempt := 0; ; attempt++ {
		err = p.download(ctx, meta, partial)
		if err == nil {
			break
		}
		var permanent *permanentError
		if ctx.Err() != nil || errors.As(err, &permanent) || attempt == retries {
			var uerr *url.Error
			if errors.As(err, &uerr) {
				uerr.URL = redact(uerr.URL)
			}
			return Pulled{}, fmt.Errorf("download %s: %w (run pull again to resume)", r, err)
		}
	}
	if err := verify(partial, meta); err != nil {
		os.Remove(partial) // a wrong file must not be resumed either
		return Pulled{}, fmt.Errorf("download %s: %w", r, err)
	}
	if err := os.Rename(partial, dest); err != nil {
		return Pulled{}, err
	}
	return Pulled{Path: dest, Downloaded: true, Verified: meta.sha256 != ""}, nil
}

// permanentError is a failure retrying cannot fix (a 4xx answer).
type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }

func (p Puller) client() *http.Client {
	if p.Client != nil {
		return p.Client
	}
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
	}}
}

// metadata asks the resolve URL without following its redirect: the
// redirect carries the LFS object's sha256 and size (as huggingface_hub
// reads them).
func (p Puller) metadata(ctx context.Context, r Ref) (remote, error) {
	base := p.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u := strings.TrimSuffix(base, "/") + "/" + r.Repo + "/resolve/main/" + r.File
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
	if err != nil {
		return remote{}, err
	}
	noRedirect := *p.client()
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noRedirect.Do(req)
	if err != nil {
		return remote{}, err
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return remote{}, fmt.Errorf("%s: not found on the hub (%s)", r, u)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return remote{}, fmt.Errorf("%s: the hub refused access (%s): the repository may be gated or private", r, resp.Status)
	case resp.StatusCode >= 400:
		return remote{}, fmt.Errorf("%s: the hub answered %s", r, resp.Status)
	}
	meta := remote{url: u, size: -1}
	if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
		next, err := resp.Request.URL.Parse(loc)
		if err != nil {
			return remote{}, fmt.Errorf("%s: bad redirect %q: %w", r, loc, err)
		}
		meta.url = next.String()
	}
	for _, h := range []string{"X-Linked-Etag", "Etag"} {
		if v := strings.Trim(strings.TrimPrefix(resp.Header.Get(h), "W/"), `"`); isSHA256(v) {
			meta.sha256 = strings.ToLower(v)
			break
		}
	}
	for _, h := range []string{"X-Linked-Size", "Content-Length"} {
		if n, err := strconv.ParseInt(resp.Header.Get(h), 10, 64); err == nil && n >= 0 {
			meta.size = n
			break
		}
	}
	return meta, nil
}

func isSHA256(s string) bool {
	_, err := hex.DecodeString(s)
	return len(s) == 64 && err == nil
}

// download appends to partial what it lacks, asking for the rest with a
// Range request; a server that ignores the range restarts the file.
func (p Puller) download(ctx context.Context, meta remote, partial string) error {
	f, err := os.OpenFile(partial, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if meta.size >= 0 && have > meta.size {
		if have, err = restart(f); err != nil {
			return err
		}
	}
	if meta.size >= 0 && have == meta.size {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, meta.url, nil)
	if err != nil {
		return err
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := p.client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && strings.HasPrefix(resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-", have)):
	case resp.StatusCode == http.StatusOK:
		if have, err = restart(f); err != nil {
			return err
		}
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return &permanentError{fmt.Sprintf("the server answered %s for %s", resp.Status, redact(meta.url))}
	default:
		return fmt.Errorf("the server answered %s (Content-Range %q) for bytes from %d", resp.Status, resp.Header.Get("Content-Range"), have)
	}
	_, err = io.Copy(&progressWriter{w: f, done: have, total: meta.size, report: p.Progress}, resp.Body)
	if err != nil {
		return err
	}
	return f.Sync()
}

// restart empties a partial file the server will send again from byte 0.
func restart(f *os.File) (int64, error) {
	if err := f.Truncate(0); err != nil {
		return 0, err
	}
	return f.Seek(0, io.SeekStart)
}

// redact drops a URL's query: CDN links carry signatures.
func redact(u string) string {
	if parsed, err := url.Parse(u); err == nil {
		parsed.RawQuery = ""
		return parsed.String()
	}
	return u
}

type progressWriter struct {
	w           io.Writer
	done, total int64
	report      func(done, total int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	if p.report != nil {
		p.report(p.done, max(p.total, p.done))
	}
	return n, err
}

// verify checks the finished file's size and sha256 against the hub's.
func verify(path string, meta remote) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return err
	}
	if meta.size >= 0 && n != meta.size {
		return fmt.Errorf("got %d bytes, the hub says %d", n, meta.size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); meta.sha256 != "" && got != meta.sha256 {
		return fmt.Errorf("%w: the file's sha256 is %s, the hub says %s; the download was deleted", ErrChecksum, got, meta.sha256)
	}
	return nil
}
