package yum

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"

	"github.com/hotfix-project/hotfix/repo"
)

// Check verifies the repodata of the channel in dir as dnf would: the
// signature of repomd.xml, the size and sha256 of each data file it names,
// and that primary.xml lists exactly the RPMs given (file name → sha256).
// It returns every problem found.
func Check(dir string, check repo.CheckSignature, rpms map[string]string) []error {
	rd := filepath.Join(dir, Dir)
	md, err := os.ReadFile(filepath.Join(rd, "repomd.xml"))
	if err != nil {
		if len(rpms) == 0 && os.IsNotExist(err) {
			return nil
		}
		return []error{fmt.Errorf("repomd.xml missing: run \"hotfix repo build\"")}
	}
	sig, err := os.ReadFile(filepath.Join(rd, "repomd.xml"+repo.SigSuffix))
	if err != nil {
		return []error{fmt.Errorf("repomd.xml.asc missing: run \"hotfix repo build\"")}
	}
	if err := check(md, sig); err != nil {
		return []error{fmt.Errorf("repomd.xml.asc: %w", err)}
	}
	data, errs := ParseRepoMD(md)
	for _, d := range data {
		if err := repo.CheckFile(filepath.Join(rd, d.Name), d.Size, d.SHA256); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.Href(), err))
			continue
		}
		if d.Type != "primary" {
			continue
		}
		listed, err := primaryPackages(filepath.Join(rd, d.Name))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.Href(), err))
			continue
		}
		for file, sum := range rpms {
			if listed[file] != sum {
				errs = append(errs, fmt.Errorf("%s: %s missing or with another sha256: run \"hotfix repo build\"", d.Href(), file))
			}
		}
		for file := range listed {
			if _, ok := rpms[file]; !ok {
				errs = append(errs, fmt.Errorf("%s lists %s, which the index does not: run \"hotfix repo build\"", d.Href(), file))
			}
		}
	}
	return errs
}

// DataFile is one data file repomd.xml names.
type DataFile struct {
	Type   string
	Name   string // a plain file name in repodata/
	Size   int64
	SHA256 string
}

// Href is the file's location as repomd.xml writes it.
func (d DataFile) Href() string { return Dir + "/" + d.Name }

// ParseRepoMD reads the data files of repomd.xml; one that lies outside
// repodata/ is left out and reported.
func ParseRepoMD(md []byte) ([]DataFile, []error) {
	var repomd struct {
		Data []struct {
			Type     string `xml:"type,attr"`
			Checksum string `xml:"checksum"`
			Location struct {
				Href string `xml:"href,attr"`
			} `xml:"location"`
			Size int64 `xml:"size"`
		} `xml:"data"`
	}
	if err := xml.Unmarshal(md, &repomd); err != nil {
		return nil, []error{fmt.Errorf("repomd.xml: %w", err)}
	}
	var out []DataFile
	var errs []error
	for _, d := range repomd.Data {
		name, ok := strings.CutPrefix(d.Location.Href, Dir+"/")
		if !ok || !repo.IsPlainFileName(name) {
			errs = append(errs, fmt.Errorf("repomd.xml names %q outside repodata/", d.Location.Href))
			continue
		}
		out = append(out, DataFile{Type: d.Type, Name: name, Size: d.Size, SHA256: d.Checksum})
	}
	return out, errs
}

// primaryPackages reads location → sha256 from a primary.xml.gz.
func primaryPackages(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var md struct {
		Packages []struct {
			Checksum string `xml:"checksum"`
			Location struct {
				Href string `xml:"href,attr"`
			} `xml:"location"`
		} `xml:"package"`
	}
	lr := io.LimitReader(zr, 1<<30)
	if err := xml.NewDecoder(lr).Decode(&md); err != nil {
		return nil, err
	}
	// Read the gzip stream to its end, so that its CRC is checked and
	// nothing after the document (a second gzip member, garbage) passes
	// unseen: dnf would read it all.
	rest, err := io.ReadAll(lr)
	if err != nil {
		return nil, fmt.Errorf("after the document: %w", err)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%d bytes after the document: run \"hotfix repo build\"", len(rest))
	}
	out := map[string]string{}
	for _, p := range md.Packages {
		out[p.Location.Href] = p.Checksum
	}
	return out, nil
}
