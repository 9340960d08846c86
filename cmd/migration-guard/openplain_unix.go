//go:build unix

package main

import (
	"io/fs"
	"os"
	"syscall"
)

// openPlain opens a file or folder for reading without registering it
// with the runtime's poller. os.Open tries to for every file: on Linux
// that is an epoll_ctl that files and folders on disk refuse, between
// four fcntl calls, six system calls where os.NewFile's one fcntl and the
// open do. A file on disk never blocks, so reading it plainly reads the
// same bytes; a history of hundreds of files opens each once or twice per
// run. A folder is opened
// with O_DIRECTORY, as os.ReadDir does.
func openPlain(name string, folder bool) (*os.File, error) {
	flags := syscall.O_RDONLY | syscall.O_CLOEXEC
	if folder {
		flags |= syscall.O_DIRECTORY
	}
	for {
		fd, err := syscall.Open(name, flags, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return os.NewFile(uintptr(fd), name), nil
	}
}
