// Package helmcheck renders the Helm chart deploy/helm/intake offline, with Helm's own Go library
// (what `helm template` and `helm lint` run), decodes every rendered document strictly into the
// Kubernetes API types (an unknown or misspelt field, a duplicate key or a wrong type fails), and
// checks the properties an operator relies on: probes, non-root, read-only root filesystem, the
// grace period against --shutdown-timeout, a spool volume per pod, the PDB and the HPA.
//
// It holds tests only; it may import no project package (the project's files are read from
// the tree, and bin/intake is run as a program).
package helmcheck
