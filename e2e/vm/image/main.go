// Command image builds the real-VM tests' guest (package vm) into a cache
// directory and prints its files as shell assignments, for make demo-vm:
//
//	eval "$(go run ./e2e/vm/image -cache bin/vm-cache)"
//	qemu-system-x86_64 -kernel "$KERNEL" -initrd "$INITRD" ...
package main

import (
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/nfdhcpd/nfdhcpd/e2e/vm"
)

func main() {
	cache := flag.String("cache", "bin/vm-cache", "directory where the kernel and initramfs are cached")
	update := flag.Bool("update", false, "run apt-get update when the kernel package cannot be downloaded")
	flag.Parse()
	img, err := vm.Build(*cache, vm.BuildOptions{
		UpdateLists: *update,
		Log:         func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) },
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("KERNEL=%s\nINITRD=%s\nKERNEL_PACKAGE=%s\n", img.Kernel, img.Initrd, img.Package)
}
