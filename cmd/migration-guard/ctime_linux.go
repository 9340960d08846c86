package main

import (
	"io/fs"
	"syscall"
)

// changeTime is a file's status change time (ctime), in whole seconds.
func changeTime(fi fs.FileInfo) (int64, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int64(st.Ctim.Sec), true
}
