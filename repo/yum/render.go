package yum

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"time"

	rpmlib "github.com/cavaliergopher/rpm"
	"github.com/hotfix-project/hotfix/internal/rpmhdr"
)

// Package is one RPM of a channel: the file (name, size, modification
// time and sha256, which identify it in the caches) and its three
// metadata fragments, already escaped, once rendered.
type Package struct {
	Name      string
	Size      int64
	MTimeNS   int64
	SHA256    string
	Primary   []byte
	Filelists []byte
	Other     []byte
}

// Same reports whether p and q describe the same file.
func (p *Package) Same(q *Package) bool {
	return p.Name == q.Name && p.Size == q.Size && p.MTimeNS == q.MTimeNS && p.SHA256 == q.SHA256
}

// Header is what the metadata is rendered from: the parsed header, where
// the signed header lies in the file (dnf's header-range) and its file
// list. repo/rpm reads it; the caller passes it on.
type Header struct {
	Pkg        *rpmlib.Package
	Start, End int64
	Files      []rpmhdr.File
}

// Render renders the metadata fragments of the package file p names from
// its header, the way createrepo_c does. The result is p with its
// fragments. Its errors do not name the file: the caller has its path.
func Render(h Header, p Package) (*Package, error) {
	pkg := h.Pkg
	x := &Package{Name: p.Name, Size: p.Size, MTimeNS: p.MTimeNS, SHA256: p.SHA256}
	name, arch := pkg.Name(), pkg.Architecture()
	if pkg.SourceRPM() == "" {
		arch = "src"
	}
	ver := fmt.Sprintf(`<version epoch="%d" ver="%s" rel="%s"/>`, pkg.Epoch(), esc(pkg.Version()), esc(pkg.Release()))
	pkgHead := fmt.Sprintf(`<package pkgid="%s" name="%s" arch="%s">`+"\n  %s\n", p.SHA256, esc(name), esc(arch), ver)

	var b bytes.Buffer
	b.WriteString("<package type=\"rpm\">\n")
	fmt.Fprintf(&b, "  <name>%s</name>\n  <arch>%s</arch>\n  %s\n", esc(name), esc(arch), ver)
	fmt.Fprintf(&b, "  <checksum type=\"sha256\" pkgid=\"YES\">%s</checksum>\n", p.SHA256)
	fmt.Fprintf(&b, "  <summary>%s</summary>\n  <description>%s</description>\n", esc(pkg.Summary()), esc(pkg.Description()))
	fmt.Fprintf(&b, "  <packager>%s</packager>\n  <url>%s</url>\n", esc(pkg.Packager()), esc(pkg.URL()))
	fmt.Fprintf(&b, "  <time file=\"%d\" build=\"%d\"/>\n", time.Unix(0, p.MTimeNS).Unix(), pkg.Header.GetTag(rpmhdr.TagBuildTime).Int64())
	installed := pkg.Header.GetTag(rpmhdr.TagLongSize).Int64()
	if installed == 0 {
		installed = int64(uint32(pkg.Header.GetTag(rpmhdr.TagSize).Int64()))
	}
	archive := pkg.Signature.GetTag(rpmhdr.SigTagLongArchive).Int64()
	if archive == 0 {
		archive = int64(uint32(pkg.Signature.GetTag(rpmhdr.SigTagPayloadSize).Int64()))
	}
	if archive == 0 {
		archive = int64(uint32(pkg.Header.GetTag(rpmhdr.TagArchiveSize).Int64()))
	}
	fmt.Fprintf(&b, "  <size package=\"%d\" installed=\"%d\" archive=\"%d\"/>\n", p.Size, installed, archive)
	fmt.Fprintf(&b, "  <location href=\"%s\"/>\n", esc(p.Name))
	b.WriteString("  <format>\n")
	fmt.Fprintf(&b, "    <rpm:license>%s</rpm:license>\n    <rpm:vendor>%s</rpm:vendor>\n", esc(pkg.License()), esc(pkg.Vendor()))
	fmt.Fprintf(&b, "    <rpm:group>%s</rpm:group>\n    <rpm:buildhost>%s</rpm:buildhost>\n", esc(strings.Join(pkg.Groups(), "")), esc(pkg.BuildHost()))
	fmt.Fprintf(&b, "    <rpm:sourcerpm>%s</rpm:sourcerpm>\n", esc(pkg.SourceRPM()))
	fmt.Fprintf(&b, "    <rpm:header-range start=\"%d\" end=\"%d\"/>\n", h.Start, h.End)
	if err := writeDeps(&b, h); err != nil {
		return nil, err
	}
	var fl bytes.Buffer
	fl.WriteString(pkgHead)
	for _, f := range h.Files {
		typ := ""
		switch {
		case f.IsGhost():
			typ = ` type="ghost"`
		case f.IsDir():
			typ = ` type="dir"`
		}
		line := fmt.Sprintf("<file%s>%s</file>", typ, esc(f.Path))
		fmt.Fprintf(&fl, "  %s\n", line)
		if isPrimaryFile(f.Path) {
			fmt.Fprintf(&b, "    %s\n", line)
		}
	}
	fl.WriteString("</package>\n")
	b.WriteString("  </format>\n</package>\n")

	x.Primary, x.Filelists, x.Other = b.Bytes(), fl.Bytes(), other(pkgHead, pkg)
	return x, nil
}

// writeDeps writes primary's dependency lists, as createrepo_c does.
func writeDeps(b *bytes.Buffer, h Header) error {
	pkg := h.Pkg
	provides, err := rpmhdr.Deps(pkg, rpmhdr.Provides)
	if err != nil {
		return err
	}
	provided := map[rpmhdr.Dep]bool{}
	for _, d := range provides {
		provided[rpmhdr.Dep{Name: d.Name, Flags: d.Flags & rpmhdr.SenseMask, Version: d.Version}] = true
	}
	fileSet := map[string]bool{}
	for _, f := range h.Files {
		fileSet[f.Path] = true
	}
	for _, kind := range []struct {
		tag  string
		tags rpmhdr.Kind
	}{
		{"provides", rpmhdr.Provides}, {"requires", rpmhdr.Requires}, {"conflicts", rpmhdr.Conflicts}, {"obsoletes", rpmhdr.Obsoletes},
		{"suggests", rpmhdr.Suggests}, {"enhances", rpmhdr.Enhances}, {"recommends", rpmhdr.Recommends}, {"supplements", rpmhdr.Supplements},
	} {
		list, err := rpmhdr.Deps(pkg, kind.tags)
		if err != nil {
			return err
		}
		var entries []string
		seen := map[string]bool{}
		for _, d := range list {
			pre := false
			if kind.tag == "requires" {
				if strings.HasPrefix(d.Name, "rpmlib(") || d.Flags&rpmlib.DepFlagRpmlib != 0 {
					continue
				}
				// As createrepo_c: a package's own primary files and exact
				// provides satisfy themselves.
				if fileSet[d.Name] && isPrimaryFile(d.Name) || provided[rpmhdr.Dep{Name: d.Name, Flags: d.Flags & rpmhdr.SenseMask, Version: d.Version}] {
					continue
				}
				pre = d.Flags&(rpmlib.DepFlagPrereq|rpmlib.DepFlagScriptPre|rpmlib.DepFlagScriptPost) != 0
			}
			e := depEntry(d, pre)
			if seen[e] {
				continue
			}
			seen[e] = true
			entries = append(entries, e)
		}
		if len(entries) == 0 {
			continue
		}
		fmt.Fprintf(b, "    <rpm:%s>\n", kind.tag)
		for _, e := range entries {
			b.WriteString("      " + e + "\n")
		}
		fmt.Fprintf(b, "    </rpm:%s>\n", kind.tag)
	}
	return nil
}

// other renders other.xml's <package>: the changelog.
func other(pkgHead string, pkg *rpmlib.Package) []byte {
	var ot bytes.Buffer
	ot.WriteString(pkgHead)
	times := pkg.Header.GetTag(rpmhdr.TagChangelogTime).Int64Slice()
	names := pkg.Header.GetTag(rpmhdr.TagChangelogName).StringSlice()
	texts := pkg.Header.GetTag(rpmhdr.TagChangelogText).StringSlice()
	if len(times) == len(names) && len(names) == len(texts) {
		// createrepo_c lists the oldest entry first.
		for i := len(texts) - 1; i >= 0; i-- {
			fmt.Fprintf(&ot, "  <changelog author=\"%s\" date=\"%d\">%s</changelog>\n", esc(names[i]), uint32(times[i]), esc(texts[i]))
		}
	}
	ot.WriteString("</package>\n")
	return ot.Bytes()
}

// isPrimaryFile is createrepo_c's rule for the files primary.xml lists
// (those dependencies name most often).
func isPrimaryFile(p string) bool {
	return strings.HasPrefix(p, "/etc/") || strings.Contains(p, "bin/") || p == "/usr/lib/sendmail"
}

// depEntry renders one <rpm:entry>.
func depEntry(d rpmhdr.Dep, pre bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<rpm:entry name="%s"`, esc(d.Name))
	if flag := senseName(d.Flags); flag != "" && d.Version != "" {
		epoch, ver, rel := "0", d.Version, ""
		if i := strings.IndexByte(ver, ':'); i >= 0 {
			epoch, ver = ver[:i], ver[i+1:]
		}
		if i := strings.LastIndexByte(ver, '-'); i >= 0 {
			ver, rel = ver[:i], ver[i+1:]
		}
		fmt.Fprintf(&b, ` flags="%s" epoch="%s" ver="%s"`, flag, esc(epoch), esc(ver))
		if rel != "" {
			fmt.Fprintf(&b, ` rel="%s"`, esc(rel))
		}
	}
	if pre {
		b.WriteString(` pre="1"`)
	}
	b.WriteString("/>")
	return b.String()
}

func senseName(flags int) string {
	switch flags & rpmhdr.SenseMask {
	case rpmlib.DepFlagLesser:
		return "LT"
	case rpmlib.DepFlagGreater:
		return "GT"
	case rpmlib.DepFlagEqual:
		return "EQ"
	case rpmlib.DepFlagLesserOrEqual:
		return "LE"
	case rpmlib.DepFlagGreaterOrEqual:
		return "GE"
	}
	return ""
}

// esc escapes text for XML content and attributes.
func esc(s string) string {
	// Most strings (names, versions, paths) need nothing: return them
	// without the encoder's copies.
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= 0x20 && c < 0x7f && c != '<' && c != '>' && c != '&' && c != '\'' && c != '"'
	}
	if plain {
		return s
	}
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
