// Command mkbusybox writes podd's busybox test image, built from the host's
// busybox-static, as a docker-archive tar (-o) or an OCI layout (-oci).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/podd-dev/podd/test/image"
)

func main() {
	out := flag.String("o", "", "write a docker-archive tar to `FILE`")
	oci := flag.String("oci", "", "write an OCI image layout to `DIR`")
	ref := flag.String("ref", "busybox:latest", "image reference to tag the image with")
	flag.Parse()
	if (*out == "") == (*oci == "") {
		fmt.Fprintln(os.Stderr, "mkbusybox: give exactly one of -o FILE or -oci DIR")
		flag.Usage()
		os.Exit(2)
	}
	var err error
	if *out != "" {
		err = image.BuildBusybox(*out, *ref)
	} else {
		err = image.BuildOCILayout(*oci, *ref)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkbusybox:", err)
		os.Exit(1)
	}
}
