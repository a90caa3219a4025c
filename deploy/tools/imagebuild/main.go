// Command imagebuild writes intake's container image without a container engine and without
// pulling a base image: one layer holding the static binary and a CA bundle, on an empty base
// (go-containerregistry's empty.Image), with the config a runtime needs (non-root user, entrypoint
// "intake serve", the exposed port, OCI labels). It writes an OCI image layout directory and the
// same layout as a tar file, which `podman load -i` and `skopeo copy oci-archive:` read.
//
//	go run ./imagebuild -binary ../../bin/linux-amd64/intake -version v1.2.3 -out ../../bin/image
//
// `make image` builds the binary (CGO_ENABLED=0) and runs this. It imports no project package:
// the binary is an input file.
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Paths and identity inside the image; the tests of this package and the Helm chart rely on them.
const (
	BinaryPath = "/usr/local/bin/intake"
	CAPath     = "/etc/ssl/certs/ca-certificates.crt"
	// UID and GID 65532 are distroless' "nonroot": no /etc/passwd entry is needed, since intake
	// never looks its user up.
	UID  = 65532
	Port = "8192/tcp"
)

func main() {
	binary := flag.String("binary", "", "the static intake binary (CGO_ENABLED=0) for -arch (required)")
	caFile := flag.String("ca-file", "/etc/ssl/certs/ca-certificates.crt", "PEM CA bundle copied to "+CAPath+" (the build machine's, from Debian's ca-certificates)")
	arch := flag.String("arch", "amd64", "GOARCH of -binary")
	version := flag.String("version", "dev", "the image's version label (org.opencontainers.image.version)")
	revision := flag.String("revision", "", "the source's commit (org.opencontainers.image.revision)")
	source := flag.String("source", "", "the source repository (org.opencontainers.image.source)")
	tag := flag.String("tag", "", "the name podman load gives the image (default intake:<version>)")
	out := flag.String("out", "bin/image", "output: an OCI layout directory <out>/oci and its tar <out>/intake-oci.tar")
	flag.Parse()
	if *binary == "" {
		fmt.Fprintln(os.Stderr, "imagebuild: -binary is required")
		os.Exit(2)
	}
	if *tag == "" {
		*tag = "intake:" + *version
	}
	img, err := Build(Options{
		Binary: *binary, CAFile: *caFile, Arch: *arch,
		Version: *version, Revision: *revision, Source: *source,
		Created: sourceDateEpoch(),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		os.Exit(1)
	}
	dir := filepath.Join(*out, "oci")
	tarPath := filepath.Join(*out, "intake-oci.tar")
	if err := WriteLayout(img, dir, *tag); err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		os.Exit(1)
	}
	if err := tarDir(dir, tarPath); err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		os.Exit(1)
	}
	d, _ := img.Digest()
	fmt.Printf("image %s %s\n  layout %s\n  archive %s (podman load -i %s)\n", *tag, d, dir, tarPath, tarPath)
}

// Options says what goes into the image.
type Options struct {
	Binary, CAFile, Arch      string
	Version, Revision, Source string
	Created                   time.Time
}

// Build assembles the image in memory: empty base, one layer, the config.
func Build(o Options) (v1.Image, error) {
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return nil, fmt.Errorf("cannot read the binary (-binary): %w", err)
	}
	ca, err := os.ReadFile(o.CAFile)
	if err != nil {
		return nil, fmt.Errorf("cannot read the CA bundle (-ca-file; Debian's ca-certificates package): %w", err)
	}
	layerTar, err := layerTar(o.Created, []file{
		{path: CAPath, mode: 0o644, data: ca},
		{path: BinaryPath, mode: 0o755, data: bin},
	})
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("cannot make the layer: %w", err)
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: v1.Time{Time: o.Created}, CreatedBy: "intake deploy/tools/imagebuild", Comment: "intake binary and CA certificates"},
	})
	if err != nil {
		return nil, fmt.Errorf("cannot append the layer: %w", err)
	}
	labels := map[string]string{
		"org.opencontainers.image.title":       "intake",
		"org.opencontainers.image.description": "intake: an HTTP event intake service, compatible with Wikimedia's EventGate",
		"org.opencontainers.image.version":     o.Version,
	}
	if o.Revision != "" {
		labels["org.opencontainers.image.revision"] = o.Revision
	}
	if o.Source != "" {
		labels["org.opencontainers.image.source"] = o.Source
	}
	img, err = mutate.Config(img, v1.Config{
		User:       strconv.Itoa(UID) + ":" + strconv.Itoa(UID),
		Entrypoint: []string{BinaryPath, "serve"},
		// Inside a container the edge listens on every interface; the flag and the environment
		// still win.
		Env: []string{
			"INTAKE_LISTEN=0.0.0.0:8192",
			"SSL_CERT_FILE=" + CAPath,
		},
		ExposedPorts: map[string]struct{}{Port: {}},
		WorkingDir:   "/",
		Labels:       labels,
		StopSignal:   "SIGTERM",
	})
	if err != nil {
		return nil, fmt.Errorf("cannot set the config: %w", err)
	}
	img, err = mutate.CreatedAt(img, v1.Time{Time: o.Created})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", o.Arch
	return mutate.ConfigFile(img, cf)
}

// WriteLayout writes img as the only image of a fresh OCI layout at dir, named tag
// (org.opencontainers.image.ref.name, which podman load reads).
func WriteLayout(img v1.Image, dir, tag string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("cannot write the layout %s: %w", dir, err)
	}
	return p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": tag,
	}))
}

type file struct {
	path string
	mode int64
	data []byte
}

// layerTar writes the files and their parent directories, root-owned and dated created, so that
// the same inputs give the same layer digest.
func layerTar(created time.Time, files []file) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	seen := map[string]bool{}
	for _, f := range files {
		var dirs []string
		for d := filepath.Dir(f.path); d != "/"; d = filepath.Dir(d) {
			dirs = append([]string{d}, dirs...)
		}
		for _, d := range dirs {
			if seen[d] {
				continue
			}
			seen[d] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d[1:] + "/", Mode: 0o755, ModTime: created, Format: tar.FormatPAX}); err != nil {
				return nil, err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.path[1:], Mode: f.mode, Size: int64(len(f.data)), ModTime: created, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// tarDir writes the OCI layout directory as a tar file (an "oci-archive").
func tarDir(dir, dst string) error {
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	err = filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			h.Name += "/"
		}
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if info.IsDir() {
			return nil
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if err != nil {
		f.Close()
		return fmt.Errorf("cannot write %s: %w", dst, err)
	}
	if err := tw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// sourceDateEpoch is the image's creation time: $SOURCE_DATE_EPOCH (reproducible builds' convention;
// the Makefile sets it to the commit's time), else the Unix epoch.
func sourceDateEpoch() time.Time {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.Unix(n, 0).UTC()
		}
	}
	return time.Unix(0, 0).UTC()
}
