//go:build !unix

package main

import "os"

// openPlain is os.Open where there is no cheaper way (see the unix file).
func openPlain(name string, _ bool) (*os.File, error) { return os.Open(name) }

// readRegular has no cheaper way here: the caller's careful path reads.
func readRegular(string) ([]byte, bool) { return nil, false }
