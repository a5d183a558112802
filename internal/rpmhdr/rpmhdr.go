package rpmhdr

import (
	"fmt"

	"github.com/cavaliergopher/rpm"
)

// Header tags beyond what the rpm library names.
const (
	TagBuildTime      = 1006
	TagSize           = 1009
	TagLongSize       = 5009
	TagArchiveSize    = 1046
	TagChangelogTime  = 1080
	TagChangelogName  = 1081
	TagChangelogText  = 1082
	SigTagPayloadSize = 1007
	SigTagLongArchive = 271

	tagFileSizes     = 1028
	tagLongFileSizes = 5008
	tagFileModes     = 1030
	tagFileMTimes    = 1034
	tagFileDigests   = 1035
	tagFileLinkTos   = 1036
	tagFileFlags     = 1037
	tagDirIndexes    = 1116
	tagBaseNames     = 1117
	tagDirNames      = 1118
	fileFlagGhost    = 1 << 6
)

// File is one file the header of a package lists.
type File struct {
	Path   string // absolute, as installed
	Size   int64
	Mode   uint32 // st_mode: type and permission bits
	MTime  int64
	Digest string
	Link   string
	Flags  uint32
}

// IsDir reports whether the file is a directory (by its type bits).
func (f *File) IsDir() bool { return f.Mode&0o170000 == 0o040000 }

// IsGhost reports a %ghost file, which has no payload.
func (f *File) IsGhost() bool { return f.Flags&fileFlagGhost != 0 }

// Dep is one dependency (provides, requires, ...) of a package.
type Dep struct {
	Name    string
	Flags   int    // rpm sense flags
	Version string // [EPOCH:]VERSION[-RELEASE], or ""
}

// SenseMask keeps the comparison bits of a dependency's flags.
const SenseMask = rpm.DepFlagLesser | rpm.DepFlagGreater | rpm.DepFlagEqual

// Kind is one kind of dependency: its name, flags and version tags.
type Kind [3]int

// The dependency kinds.
var (
	Provides    = Kind{1047, 1112, 1113}
	Requires    = Kind{1049, 1048, 1050}
	Conflicts   = Kind{1054, 1053, 1055}
	Obsoletes   = Kind{1090, 1114, 1115}
	Recommends  = Kind{5046, 5048, 5047}
	Suggests    = Kind{5049, 5051, 5050}
	Supplements = Kind{5052, 5054, 5053}
	Enhances    = Kind{5055, 5057, 5056}
)

// Deps reads one kind of dependency, refusing tag lists of different
// lengths.
func Deps(p *rpm.Package, kind Kind) ([]Dep, error) {
	names := p.Header.GetTag(kind[0]).StringSlice()
	if len(names) == 0 {
		return nil, nil
	}
	flags := p.Header.GetTag(kind[1]).Int64Slice()
	vers := p.Header.GetTag(kind[2]).StringSlice()
	if len(flags) != len(names) || len(vers) != len(names) {
		return nil, fmt.Errorf("dependency tag %d: %d names, %d flags, %d versions", kind[0], len(names), len(flags), len(vers))
	}
	out := make([]Dep, len(names))
	for i := range names {
		out[i] = Dep{Name: names[i], Flags: int(flags[i]), Version: vers[i]}
	}
	return out, nil
}

// Files lists the files of the header, refusing lists that disagree in
// length or point outside each other.
func Files(p *rpm.Package) ([]File, error) {
	hdr := &p.Header
	names := hdr.GetTag(tagBaseNames).StringSlice()
	n := len(names)
	if n == 0 {
		return nil, nil
	}
	dirs := hdr.GetTag(tagDirNames).StringSlice()
	idx := hdr.GetTag(tagDirIndexes).Int64Slice()
	sizes := hdr.GetTag(tagLongFileSizes).Int64Slice()
	if sizes == nil {
		sizes = hdr.GetTag(tagFileSizes).Int64Slice()
	}
	modes := hdr.GetTag(tagFileModes).Int64Slice()
	if len(idx) != n || len(sizes) != n || len(modes) != n {
		return nil, fmt.Errorf("the header's file lists disagree: %d names, %d directory indexes, %d sizes, %d modes", n, len(idx), len(sizes), len(modes))
	}
	opt := func(tag int) []int64 {
		v := hdr.GetTag(tag).Int64Slice()
		if len(v) != n {
			return make([]int64, n)
		}
		return v
	}
	optS := func(tag int) []string {
		v := hdr.GetTag(tag).StringSlice()
		if len(v) != n {
			return make([]string, n)
		}
		return v
	}
	mtimes, flags := opt(tagFileMTimes), opt(tagFileFlags)
	digests, links := optS(tagFileDigests), optS(tagFileLinkTos)
	out := make([]File, n)
	for i := range names {
		if idx[i] < 0 || idx[i] >= int64(len(dirs)) {
			return nil, fmt.Errorf("file %q has directory index %d of %d", names[i], idx[i], len(dirs))
		}
		if sizes[i] < 0 {
			return nil, fmt.Errorf("file %q has negative size", names[i])
		}
		out[i] = File{Path: dirs[idx[i]] + names[i], Size: sizes[i], Mode: uint32(modes[i]) & 0xffff,
			MTime: mtimes[i], Digest: digests[i], Link: links[i], Flags: uint32(flags[i])}
	}
	return out, nil
}
