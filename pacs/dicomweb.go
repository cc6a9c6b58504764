// Package pacs connects otoseg to a PACS through DICOMweb: it finds new CT
// series with QIDO-RS, retrieves them with WADO-RS, segments them and
// stores the DICOM Segmentation back with STOW-RS, remembering what it has
// done in a state file so that a restarted watcher processes no series
// twice. It is tested against Orthanc with its DICOMweb plugin.
package pacs

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Client talks DICOMweb to one server.
type Client struct {
	// Base is the DICOMweb root, e.g. http://pacs:8042/dicom-web.
	Base string
	// User and Password are for HTTP basic authentication (empty: none).
	User, Password string
	HTTP           *http.Client
}

// Limits on what a server's answers may make the client hold.
const (
	maxJSONBytes     = 64 << 20
	maxPartBytes     = 256 << 20
	maxSeriesBytes   = 16 << 30
	maxInstances     = 100000
	qidoPageSize     = 500
	maxErrorBodyShow = 300
)

// Series is a series QIDO-RS found.
type Series struct {
	Study, Series, Modality, Description, StudyDate string
}

// SearchSeries lists the series matching filters (QIDO-RS attribute
// matching: Modality=CT, StudyDate=20260101-, ...), page by page.
func (c *Client) SearchSeries(ctx context.Context, filters url.Values) ([]Series, error) {
	var out []Series
	for offset := 0; ; offset += qidoPageSize {
		q := url.Values{}
		for k, v := range filters {
			q[k] = v
		}
		q.Set("limit", strconv.Itoa(qidoPageSize))
		q.Set("offset", strconv.Itoa(offset))
		q.Add("includefield", "0008103E")
		q.Add("includefield", "00080020")
		var items []map[string]struct {
			VR    string            `json:"vr"`
			Value []json.RawMessage `json:"Value"`
		}
		if err := c.getJSON(ctx, "/series?"+q.Encode(), &items); err != nil {
			return nil, err
		}
		for _, it := range items {
			str := func(tag string) string {
				if v := it[tag].Value; len(v) > 0 {
					var s string
					if json.Unmarshal(v[0], &s) == nil {
						return s
					}
				}
				return ""
			}
			s := Series{Study: str("0020000D"), Series: str("0020000E"), Modality: str("00080060"), Description: str("0008103E"), StudyDate: str("00080020")}
			if s.Study == "" || s.Series == "" {
				return nil, fmt.Errorf("QIDO-RS %s: a series without Study or Series Instance UID", c.Base)
			}
			out = append(out, s)
		}
		if len(items) < qidoPageSize {
			return out, nil
		}
	}
}

func (c *Client) getJSON(ctx context.Context, path string, v any) error {
	resp, err := c.do(ctx, http.MethodGet, path, "application/dicom+json", "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONBytes))
	if err != nil {
		return fmt.Errorf("%s%s: %w", c.Base, path, err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil // 204 No Content: nothing matched
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s%s: not DICOM JSON: %w", c.Base, path, err)
	}
	return nil
}

// do sends a request and fails on any status but 2xx, quoting the body.
func (c *Client) do(ctx context.Context, method, path, accept, contentType string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.Base, "/")+path, body)
	if err != nil {
		return nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.User != "" {
		req.SetBasicAuth(c.User, c.Password)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, c.Base, err)
	}
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyShow))
		resp.Body.Close()
		msg := fmt.Sprintf("%s %s%s: %s", method, c.Base, path, resp.Status)
		if resp.StatusCode == http.StatusUnauthorized {
			msg += " (check --user and the password)"
		}
		if s := strings.TrimSpace(string(b)); s != "" {
			msg += ": " + s
		}
		return nil, errors.New(msg)
	}
	return resp, nil
}

// RetrieveSeries downloads every instance of a series (WADO-RS) into dir,
// one file per instance, and returns how many it wrote.
func (c *Client) RetrieveSeries(ctx context.Context, study, series, dir string) (int, error) {
	path := "/studies/" + url.PathEscape(study) + "/series/" + url.PathEscape(series)
	resp, err := c.do(ctx, http.MethodGet, path, `multipart/related; type="application/dicom"`, "", nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return 0, fmt.Errorf("WADO-RS %s%s: answer is %q, not multipart DICOM", c.Base, path, resp.Header.Get("Content-Type"))
	}
	n, err := writeParts(io.LimitReader(resp.Body, maxSeriesBytes), params["boundary"], dir)
	if err != nil {
		return n, fmt.Errorf("WADO-RS %s%s: %w", c.Base, path, err)
	}
	return n, nil
}

// writeParts writes each part of a multipart body into dir as one file,
// refusing more than maxInstances parts, parts over maxPartBytes, and a
// body without parts.
func writeParts(body io.Reader, boundary, dir string) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	mr := multipart.NewReader(body, boundary)
	n := 0
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, err
		}
		if n >= maxInstances {
			return n, fmt.Errorf("more than %d instances", maxInstances)
		}
		b, err := io.ReadAll(io.LimitReader(part, maxPartBytes+1))
		if err != nil {
			return n, err
		}
		if len(b) > maxPartBytes {
			return n, fmt.Errorf("an instance larger than %d bytes", maxPartBytes)
		}
		n++
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%06d.dcm", n)), b, 0o644); err != nil {
			return n, err
		}
	}
	if n == 0 {
		return 0, errors.New("no instances")
	}
	return n, nil
}

// Store sends DICOM files (Part 10 bytes) with STOW-RS. A server that
// answers but lists failed instances is an error too.
func (c *Client) Store(ctx context.Context, files ...[]byte) error {
	var body bytes.Buffer
	boundary := randomBoundary()
	w := multipart.NewWriter(&body)
	if err := w.SetBoundary(boundary); err != nil {
		return err
	}
	for _, f := range files {
		p, err := w.CreatePart(map[string][]string{"Content-Type": {"application/dicom"}})
		if err != nil {
			return err
		}
		p.Write(f)
	}
	if err := w.Close(); err != nil {
		return err
	}
	ct := fmt.Sprintf(`multipart/related; type="application/dicom"; boundary=%s`, boundary)
	resp, err := c.do(ctx, http.MethodPost, "/studies", "application/dicom+json", ct, &body)
	if err != nil {
		return fmt.Errorf("STOW-RS: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxJSONBytes))
	var ans map[string]json.RawMessage
	if json.Unmarshal(b, &ans) == nil {
		if failed, ok := ans["00081198"]; ok && !bytes.Contains(failed, []byte(`"Value":[]`)) && bytes.Contains(failed, []byte("Value")) {
			return fmt.Errorf("STOW-RS %s: the server refused instances: %s", c.Base, truncate(string(failed)))
		}
	}
	return nil
}

func randomBoundary() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "otoseg-" + hex.EncodeToString(b)
}

func truncate(s string) string {
	if len(s) > maxErrorBodyShow {
		return s[:maxErrorBodyShow] + "..."
	}
	return s
}
