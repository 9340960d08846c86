//go:build unix

package main

import (
	"io"
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

// readRegular reads a regular file, not a symbolic link, in the fewest
// system calls: open (refusing a link), fstat for the size, the reads and
// close, where Lstat first and os.File's set-up add two. It reports false
// for anything else (a link, a folder, a device, any error), for which the
// caller takes its careful path, which also words the errors. O_NONBLOCK
// changes nothing for a regular file; it keeps the open of a FIFO from
// waiting for a writer before the careful path sees what it is.
func readRegular(name string) ([]byte, bool) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(name, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, false
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG || int64(int(st.Size)) != st.Size {
		return nil, false
	}
	b, err := readSized(st.Size, func(p []byte) (int, error) {
		for {
			n, err := syscall.Read(fd, p)
			switch {
			case err == syscall.EINTR:
				continue
			case err != nil:
				return 0, err
			case n == 0:
				return 0, io.EOF
			}
			return n, nil
		}
	})
	return b, err == nil
}
