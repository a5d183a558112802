package rpm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/rpmpack"
	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/internal/rpmhdr"
	"github.com/hotfix-project/hotfix/repo"
)

// IncomingDir is where an RPM fix package delivers its fix: the payload of
// PRODUCT-hotfix-V is IncomingDir/PRODUCT/VERSION/{manifest.json,files/,scripts/},
// and its %post hands that directory to "hotfix install --from".
const IncomingDir = "/var/lib/hotfix/incoming"

// The version, release and architecture every RPM fix package carries. The
// fix version lives in the package name (dnf sees each fix as its own
// package, so fixes are never "upgraded" away) and in the Provides.
const (
	rpmVersion = "1"
	rpmRelease = "0"
	rpmArch    = "noarch"
)

// rpmCompressor is the payload compression hotfix writes: zstd decompresses
// an order of magnitude faster than xz and every rpm since 4.14 (RHEL 8)
// reads it.
const rpmCompressor = "zstd"

// Signer makes binary detached OpenPGP signatures; *sign.Signer
// implements it.
type Signer interface {
	SignDetachedBinary(r io.Reader) ([]byte, error)
}

// PackOptions tune Pack.
type PackOptions struct {
	// Epoch is the time written for every file and as the build time; zero
	// means SOURCE_DATE_EPOCH (or the Unix epoch), as for Pack.
	Epoch time.Time
	// Signer, when set, signs the header and header+payload so that
	// "rpm -K" passes once the public key is imported. nil: unsigned.
	Signer Signer
}

// RPMName is the package name of a fix: PRODUCT-hotfix-V with V the
// version spelled with '_' for '.', e.g. shop-hotfix-6_14_2_3.
func Name(product string, v repo.Version) string {
	return product + "-hotfix-" + strings.ReplaceAll(v.String(), ".", "_")
}

// RPMFileName is the file name of a fix's RPM, e.g.
// shop-hotfix-6_14_2_3-1-0.noarch.rpm.
func FileName(product string, v repo.Version) string {
	return Name(product, v) + "-" + rpmVersion + "-" + rpmRelease + "." + rpmArch + ".rpm"
}

// RPMProvides is the capability every fix package provides, versioned
// with the fix version: PRODUCT-hotfix = VERSION.
func Provides(product string) string { return product + "-hotfix" }

// fixDir is the payload directory of one fix inside an RPM.
func fixDir(product string, v repo.Version) string {
	return path.Join(IncomingDir, product, v.String())
}

// Pack validates the fix source in srcDir and writes its RPM package
// (RPMFileName) into outDir, with exactly the content of the .fix archive
// Pack writes. The package requires the previous fix's package, so dnf
// installs a chain in order; fix B.1 requires nothing, since the base is
// put in place by a full patch that need not be an RPM.
func Pack(ctx context.Context, srcDir, outDir string, opts PackOptions) (string, *repo.Manifest, error) {
	src, err := repo.PrepareSource(ctx, srcDir)
	if err != nil {
		return "", nil, err
	}
	epoch := opts.Epoch
	if epoch.IsZero() {
		if epoch, err = repo.SourceDateEpoch(); err != nil {
			return "", nil, err
		}
	}
	m := &src.Manifest
	if m.IsCustom() {
		// An RPM fix requires the previous fix's package and installs by
		// chain; a customer fix is in no chain.
		return "", nil, fmt.Errorf("pack rpm: %s: customer fixes ship as .fix archives only; pack it with --format fix", m.Name())
	}
	data, err := buildRPM(ctx, src, epoch, opts.Signer)
	if err != nil {
		return "", nil, fmt.Errorf("pack rpm %s %s: %w", m.Product, m.Version, err)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", nil, fmt.Errorf("pack rpm: %w", err)
	}
	out := filepath.Join(outDir, FileName(m.Product, m.Version))
	if err := atomicfile.WriteFile(out, data, 0o644); err != nil {
		return "", nil, fmt.Errorf("pack rpm: %w", err)
	}
	return out, m, nil
}

// buildRPM renders the package in memory (rpmpack needs the whole payload
// to write the header that precedes it).
func buildRPM(ctx context.Context, src *repo.Source, epoch time.Time, signer Signer) ([]byte, error) {
	m := &src.Manifest
	for _, b := range m.Bugs {
		if strings.ContainsAny(b.ID, "\n\r") || strings.Contains(b.ID, ": ") || strings.ContainsAny(b.Summary, "\n\r") {
			return nil, fmt.Errorf("bug %q: an RPM fix records bugs as changelog lines \"- ID: summary\", so the id may not contain \": \" or a line break, nor the summary a line break", b.ID)
		}
	}
	var requires rpmpack.Relations
	if m.Version.Seq() > 1 {
		requires = append(requires, &rpmpack.Relation{Name: Name(m.Product, m.Requires)})
	}
	desc := m.Description
	if desc == "" {
		desc = m.Summary
	}
	r, err := rpmpack.NewRPM(rpmpack.RPMMetaData{
		Name:        Name(m.Product, m.Version),
		Summary:     m.Summary,
		Description: desc,
		Version:     rpmVersion,
		Release:     rpmRelease,
		Arch:        rpmArch,
		Epoch:       rpmpack.NoEpoch,
		Licence:     "Proprietary",
		Group:       "Unspecified",
		Packager:    "hotfix",
		BuildHost:   "hotfix",
		Compressor:  rpmCompressor,
		BuildTime:   epoch,
		Provides: rpmpack.Relations{
			{Name: Provides(m.Product), Version: m.Version.String(), Sense: rpmpack.SenseEqual},
		},
		Requires: requires,
	})
	if err != nil {
		return nil, err
	}
	mtime := uint32(max(0, min(epoch.Unix(), math.MaxUint32)))
	base := fixDir(m.Product, m.Version)
	dirs := map[string]bool{base: true, base + "/files": true, base + "/scripts": true}
	add := func(name string, body []byte, mode uint) {
		r.AddFile(rpmpack.RPMFile{Name: name, Body: body, Mode: mode, Owner: "root", Group: "root", MTime: mtime})
	}
	manifest, err := m.Marshal()
	if err != nil {
		return nil, err
	}
	add(base+"/"+repo.ManifestName, manifest, 0o100644)
	addEntries := func(kind string, entries []repo.FileEntry) error {
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return err
			}
			if e.Size > math.MaxUint32 {
				return fmt.Errorf("%s/%s is %d bytes: RPM fix packages hold files of at most 4 GiB; ship it as a .fix", kind, e.Path, e.Size)
			}
			var buf bytes.Buffer
			if err := src.CopyEntry(&buf, kind, e); err != nil {
				return err
			}
			name := base + "/" + kind + "/" + e.Path
			for d := path.Dir(name); d != base && !dirs[d]; d = path.Dir(d) {
				dirs[d] = true
			}
			add(name, buf.Bytes(), 0o100000|uint(e.Mode))
		}
		return nil
	}
	if err := addEntries("files", m.Files); err != nil {
		return nil, err
	}
	if err := addEntries("scripts", m.Scripts); err != nil {
		return nil, err
	}
	dirList := make([]string, 0, len(dirs))
	for d := range dirs {
		dirList = append(dirList, d)
	}
	sort.Strings(dirList)
	for _, d := range dirList {
		add(d, nil, 0o040755)
	}
	r.AddPostin(postScript(m.Product, m.Version))
	addChangelog(r, m, epoch)
	if signer != nil {
		r.SetPGPSigner(func(data []byte) ([]byte, error) {
			return signer.SignDetachedBinary(bytes.NewReader(data))
		})
	}
	var out bytes.Buffer
	if err := r.Write(&out); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// addChangelog writes the bugs into the changelog, one "- ID: summary"
// line each, so that a repository can index an RPM-only fix from its
// header alone.
func addChangelog(r *rpmpack.RPM, m *repo.Manifest, epoch time.Time) {
	var log strings.Builder
	for _, b := range m.Bugs {
		fmt.Fprintf(&log, "- %s: %s\n", b.ID, b.Summary)
	}
	if log.Len() == 0 {
		fmt.Fprintf(&log, "- %s\n", m.Summary)
	}
	r.AddCustomTag(rpmhdr.TagChangelogTime, rpmpack.EntryInt32([]int32{int32(max(0, min(epoch.Unix(), math.MaxInt32)))}))
	r.AddCustomTag(rpmhdr.TagChangelogName, rpmpack.EntryStringSlice([]string{"hotfix - " + m.Version.String()}))
	r.AddCustomTag(rpmhdr.TagChangelogText, rpmpack.EntryStringSlice([]string{strings.TrimSuffix(log.String(), "\n")}))
}

// postScript is the %post of a fix package: it hands the unpacked fix to
// the hotfix client, unless HOTFIX_NO_INSTALL=1 asks to only unpack it now
// (to install later) or the client is not installed. A failed install
// fails the scriptlet, which rpm reports; the client's own transaction has
// already restored the root.
func postScript(product string, v repo.Version) string {
	dir := fixDir(product, v)
	return fmt.Sprintf(`dir=%s
if [ "${HOTFIX_NO_INSTALL:-}" = 1 ]; then
	echo "hotfix: %s %s unpacked in $dir, not installed (HOTFIX_NO_INSTALL=1): run hotfix install --from $dir" >&2
	exit 0
fi
if ! command -v hotfix >/dev/null 2>&1; then
	echo "hotfix: the hotfix client is not installed; %s %s stays unpacked in $dir: run hotfix install --from $dir" >&2
	exit 0
fi
exec hotfix install --from "$dir"
`, dir, product, v, product, v)
}
