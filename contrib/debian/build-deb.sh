#!/bin/sh
# Builds the nfdhcpd Debian package with dpkg-deb, from a built binary and
# the files of contrib/. Called by `make deb`; usable on its own:
#
#   contrib/debian/build-deb.sh BINARY VERSION OUTDIR
#
# VERSION must start with a digit (a Debian upstream version, e.g. 0.1.0 or
# 0.1.0+git20261125.3128be4). The package is written to
# OUTDIR/nfdhcpd_VERSION_ARCH.deb and its path printed.
set -eu

if [ $# -ne 3 ]; then
	echo "usage: $0 BINARY VERSION OUTDIR" >&2
	exit 2
fi
binary=$1
version=$2
outdir=$3
case "$version" in
[0-9]*) ;;
*)
	echo "build-deb: version $version must start with a digit" >&2
	exit 2
	;;
esac

contrib=$(cd "$(dirname "$0")/.." && pwd)
arch=$(dpkg --print-architecture)
root=$(mktemp -d)
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT

install -d "$root/DEBIAN" "$root/usr/sbin" "$root/lib/systemd/system" \
	"$root/etc/nfdhcpd" "$root/var/lib/nfdhcpd" "$root/usr/share/man/man8" \
	"$root/usr/share/doc/nfdhcpd/examples" \
	"$root/usr/lib/nfdhcpd/hooks/ganeti" "$root/usr/lib/nfdhcpd/hooks/libvirt"

install -m 0755 "$binary" "$root/usr/sbin/nfdhcpd"
install -m 0644 "$contrib/systemd/nfdhcpd.service" "$root/lib/systemd/system/nfdhcpd.service"
install -m 0644 "$contrib/nfdhcpd.conf" "$root/etc/nfdhcpd/nfdhcpd.conf"
install -m 0755 "$contrib/ganeti/kvm-ifup-custom" "$contrib/ganeti/kvm-ifdown-custom" \
	"$root/usr/lib/nfdhcpd/hooks/ganeti/"
install -m 0755 "$contrib/libvirt/qemu" "$root/usr/lib/nfdhcpd/hooks/libvirt/qemu"
for d in iptables ferm nftables ifupdown bird; do
	install -d "$root/usr/share/doc/nfdhcpd/examples/$d"
	install -m 0644 "$contrib/$d"/* "$root/usr/share/doc/nfdhcpd/examples/$d/"
done
gzip -9n <"$contrib/man/nfdhcpd.8" >"$root/usr/share/man/man8/nfdhcpd.8.gz"
chmod 0644 "$root/usr/share/man/man8/nfdhcpd.8.gz"
if [ -r "$contrib/../README.md" ]; then
	gzip -9n <"$contrib/../README.md" >"$root/usr/share/doc/nfdhcpd/README.md.gz"
fi
# The manual the README links to, under the same relative names.
for doc in "$contrib"/../docs/*.md; do
	[ -r "$doc" ] || continue
	name=$(basename "$doc")
	install -d "$root/usr/share/doc/nfdhcpd/docs"
	gzip -9n <"$doc" >"$root/usr/share/doc/nfdhcpd/docs/$name.gz"
done

size=$(du -sk "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: nfdhcpd
Version: $version
Architecture: $arch
Maintainer: nfdhcpd developers <nfdhcpd@example.org>
Installed-Size: $size
Section: net
Priority: optional
Recommends: iptables
Suggests: ferm, nftables
Description: NFQUEUE-based DHCP, DHCPv6, RA and NA responder for VM hosts
 nfdhcpd answers the DHCPv4, DHCPv6, Router Solicitation and Neighbor
 Solicitation packets that virtual machines send on their TAP interfaces,
 diverted to it by NFQUEUE packet filter rules, from per-TAP binding files
 written by the hypervisor's hooks (Ganeti, libvirt hooks included). It can
 also install the host-side routing of a routed setup. A drop-in
 replacement for the Python nfdhcpd.
CONTROL
echo /etc/nfdhcpd/nfdhcpd.conf >"$root/DEBIAN/conffiles"

# The service is installed but neither enabled nor started: it needs the
# packet filter rules and a reviewed configuration first.
cat >"$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
# DPKG_ROOT is set when installing into another root: leave the host alone.
if [ "$1" = configure ] && [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
POSTINST
cat >"$root/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
POSTRM
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/postrm"

mkdir -p "$outdir"
deb="$outdir/nfdhcpd_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
