package schemarepo

import (
	"os"
	"testing"
)

// BenchmarkTestSecondary is "intake schema test" on the secondary repository, in process; bytes
// are the schema files' (jsonschema-tools' mocha run on the same machine is the baseline: see the
// README's "Schema repositories").
func BenchmarkTestSecondary(b *testing.B) {
	opts := realRepoOptions(b)
	repo, _, err := Open(secondaryRepo, opts)
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, f := range repo.Files {
		if st, err := os.Stat(f.Path); err == nil {
			size += st.Size()
		}
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Test(secondaryRepo, opts); err != nil {
			b.Fatal(err)
		}
	}
}
