package layout

// SkipsFolder reports whether Discover never searches a folder of this name
// below a scan root (hidden folders, node_modules, vendor, testdata). A
// caller that must see every file Discover can see (the CLI keys its cache
// by them) skips exactly these.
func SkipsFolder(name string) bool { return skipDir(name) }

// ScanRoot is the folder Discover scans for a configured location path.
func ScanRoot(p string) string { return cleanPath(p) }
