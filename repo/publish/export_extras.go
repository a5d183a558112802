package publish

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/bundle"
	"github.com/hotfix-project/hotfix/repo/yum"
)

// exportExtras adds to b what makes a mirror of the bundle as complete as
// one of the repository: repo.json, the channel's repodata (where it has
// RPMs), and the customer channels opts names.
func exportExtras(root, dir string, b *bundle.Bundle, opts ExportOptions, res *ExportResult) error {
	var err error
	if b.Root, err = readSigned(filepath.Join(root, repo.RootIndexName)); err != nil {
		return err
	}
	res.Root = b.Root != nil
	if err := exportRepodata(dir, b); err != nil {
		return err
	}
	res.Repodata = b.RepoMD != nil
	for _, customer := range slices.Compact(slices.Sorted(slices.Values(opts.Customers))) {
		cc, err := exportCustomer(root, opts.Product, opts.Base, customer)
		if err != nil {
			return err
		}
		b.Customers = append(b.Customers, *cc)
		res.Archives += len(cc.Archives)
		res.Customers++
	}
	return nil
}

// readSigned reads a published file and its signature; nil when the
// file is not there. A file without its signature is a repository
// "repo build" did not finish.
func readSigned(path string) (*bundle.Signed, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sig, err := os.ReadFile(path + repo.SigSuffix)
	if err != nil {
		return nil, fmt.Errorf("%s has no readable signature (%w): run \"hotfix repo build\"", path, err)
	}
	return &bundle.Signed{Data: data, Sig: sig}, nil
}

// exportRepodata carries repomd.xml, its signature and the data files it
// names, each checked against repomd.xml while it is copied.
func exportRepodata(dir string, b *bundle.Bundle) error {
	md, err := readSigned(filepath.Join(dir, yum.Dir, yum.RepoMDName))
	if err != nil || md == nil {
		return err
	}
	files, errs := yum.ParseRepoMD(md.Data)
	if len(errs) > 0 {
		return fmt.Errorf("%s: %w: run \"hotfix repo build\"", filepath.Join(dir, yum.Dir, yum.RepoMDName), errors.Join(errs...))
	}
	b.RepoMD = md
	for _, f := range files {
		a := repo.Archive{File: f.Href(), Size: f.Size, SHA256: f.SHA256}
		b.Repodata = append(b.Repodata, openChecked(a, filepath.Join(dir, filepath.FromSlash(f.Href()))))
	}
	return nil
}

// exportCustomer carries one customer's channel of the base: its signed
// index as published and every archive it names, checked while copied.
func exportCustomer(root, product string, base repo.Version, customer string) (*bundle.CustomChannel, error) {
	if err := repo.ValidCustomerName(customer); err != nil {
		return nil, err
	}
	cdir := filepath.Join(root, filepath.FromSlash(repo.CustomIndexPath(product, base, customer)))
	s, err := readSigned(filepath.Join(cdir, repo.IndexName))
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("customer %s has no channel of %s %s (no %s): add a customer fix of this base and run \"hotfix repo build\"",
			customer, product, base, filepath.Join(cdir, repo.IndexName))
	}
	ix, err := repo.ParseCustomIndex(s.Data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(cdir, repo.IndexName), err)
	}
	if ix.Product != product || !ix.Base.Equal(base) || ix.Customer != customer {
		return nil, fmt.Errorf("%s describes customer %s of %s %s", filepath.Join(cdir, repo.IndexName), ix.Customer, ix.Product, ix.Base)
	}
	cc := &bundle.CustomChannel{Customer: customer, Index: *s}
	for _, f := range ix.Fixes {
		a := repo.Archive{File: f.File, Size: f.Size, SHA256: f.SHA256}
		cc.Archives = append(cc.Archives, openChecked(a, filepath.Join(cdir, f.File)))
	}
	return cc, nil
}
