package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"zhengzhao/license"
	"zhengzhao/registry"
)

// adminCatalogAdd adds a license type (or, with --version-of, the next
// version of one) from a definition file in the form of a catalog.json
// entry. The registry checks it with the built-in catalog's rules, puts its
// digest on the ledger and keeps it; licenses already issued keep their
// type version.
func adminCatalogAdd(ctx context.Context, a *adminEnv, fs *flag.FlagSet, args []string) error {
	file := fs.String("file", "", "the type definition, JSON in the form of a catalog.json entry (required)")
	versionOf := fs.String("version-of", "", "add the next version of this type code instead of a new type")
	passFile := fs.String("passphrase-file", "", "file holding the key passphrase (default: $"+passphraseEnv+")")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	if *file == "" {
		return usagef("--file is required")
	}
	info, err := os.Stat(*file)
	if err != nil {
		return usageError{err}
	}
	if info.Size() > license.MaxTypeSize {
		return usagef("--file: %s is %d bytes, a type definition is at most %d", *file, info.Size(), license.MaxTypeSize)
	}
	def, err := os.ReadFile(*file)
	if err != nil {
		return usageError{err}
	}
	in, err := a.instance(ctx, *passFile)
	if err != nil {
		return err
	}
	defer in.Close()
	var tv *registry.TypeVersion
	if code := strings.TrimSpace(*versionOf); code != "" {
		tv, err = in.registry.AddTypeVersion(ctx, a.actor, code, def)
	} else {
		tv, err = in.registry.AddType(ctx, a.actor, def)
	}
	if err != nil {
		return domainError(err)
	}
	if *a.asJSON {
		return a.printJSON(tv)
	}
	fmt.Fprintf(a.stdout, "证照类型 %s（%s）第 %d 版已加入目录，摘要 %s 已记上账本；新签发的证照使用这一版\n", tv.Name, tv.Code, tv.Version, tv.Digest)
	return nil
}
