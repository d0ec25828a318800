// Package vm builds and runs the real guests of the end-to-end tests: a
// QEMU (TCG, no KVM needed) virtual machine with Debian's cloud kernel and
// a busybox initramfs, on a TAP that QEMU itself creates in a network
// namespace and hands to the hypervisor hook under test.
//
// Build assembles the guest once and caches it: the kernel and its virtio
// network modules come from the package linux-image-cloud-amd64 depends on
// (fetched with apt-get download and unpacked with dpkg-deb -x, never
// installed on the host); the initramfs holds busybox-static, the host's
// dhclient (for DHCPv6) and an /init script that loads the driver,
// configures the network with udhcpc and SLAAC, pings what it is told to,
// prints one NFDVM-RESULT line on the serial console and then obeys
// commands read from the console.
//
// Start runs a guest (or a diskless netboot guest) and gives access to its
// serial console, its QEMU monitor (for live migration) and its exit.
package vm
