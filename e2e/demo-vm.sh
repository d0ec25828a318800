#!/usr/bin/env bash
# demo-vm.sh BINARY CACHE — the demo with a real guest: a QEMU virtual
# machine (TCG, no KVM needed) on a TAP that QEMU creates in a throw-away
# hypervisor namespace, bound by the shipped Ganeti hook, served by nfdhcpd;
# the guest powers off and the ifdown hook removes its binding.
#
# The guest (Debian's cloud kernel and a busybox initramfs, built once into
# CACHE by e2e/vm) configures itself with udhcpc and SLAAC, prints what it
# got on its serial console, then waits for a command there.
set -euo pipefail

bin=${1:?usage: demo-vm.sh path/to/nfdhcpd CACHE-DIR}
cache=${2:?usage: demo-vm.sh path/to/nfdhcpd CACHE-DIR}
bin=$(readlink -f "$bin")
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
	echo "demo-vm: needs root (network namespaces, TAP devices)" >&2
	exit 1
fi
for c in ip iptables-restore ip6tables-restore qemu-system-x86_64 busybox dhclient apt-get dpkg-deb "${GO:-go}"; do
	command -v "$c" >/dev/null || { echo "demo-vm: missing command $c (make deps)" >&2; exit 1; }
done

echo "== guest image (cached in $cache)"
eval "$(cd "$here/.." && "${GO:-go}" run ./e2e/vm/image -cache "$cache")"
echo "   kernel $KERNEL ($KERNEL_PACKAGE)"
echo "   initramfs $INITRD"

hv=nfd-demo-vmhv-$$
tmp=$(mktemp -d /tmp/nfdhcpd-demo-vm.XXXXXX)
daemon=""
qemu=""

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	exec 3>&- 2>/dev/null || true
	if [ -n "$qemu" ]; then
		kill "$qemu" 2>/dev/null || true
		wait "$qemu" 2>/dev/null || true
	fi
	if [ -n "$daemon" ]; then
		kill -TERM "$daemon" 2>/dev/null || true
		wait "$daemon" 2>/dev/null || true
	fi
	ip netns del "$hv" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

mac=52:54:00:12:34:56
subnet6=2001:db8:1::/64
eui64=$("$bin" eui64 "$mac" "$subnet6")

mkdir -p "$tmp/bindings"
cat >"$tmp/nfdhcpd.conf" <<EOF
[general]
datapath = $tmp/bindings
control_socket = $tmp/control

[dhcp]
dhcp_queue = 42
server_ip = 192.0.2.1
nameservers = 192.0.2.53, 192.0.2.54
domain = example.org

[ipv6]
rs_queue = 43
ns_queue = 44
dhcpv6_queue = 45
nameservers = 2001:db8:53::1
EOF

echo "== namespace $hv (hypervisor): capture rules from nfdhcpd rules, then the daemon"
ip netns add "$hv"
ip -n "$hv" link set lo up
"$bin" rules -c "$tmp/nfdhcpd.conf" -format iptables | ip netns exec "$hv" iptables-restore --noflush
"$bin" rules -c "$tmp/nfdhcpd.conf" -format ip6tables | ip netns exec "$hv" ip6tables-restore --noflush
ip netns exec "$hv" "$bin" -c "$tmp/nfdhcpd.conf" -f >"$tmp/daemon.log" 2>&1 &
daemon=$!
for _ in $(seq 100); do
	[ -S "$tmp/control" ] && break
	kill -0 "$daemon" 2>/dev/null || { cat "$tmp/daemon.log"; echo "demo-vm: daemon exited" >&2; exit 1; }
	sleep 0.1
done

echo "== QEMU creates tap0 and runs the Ganeti hook kvm-ifup-custom tap0"
mkfifo "$tmp/console-in"
start=$(date +%s%N)
# The environment Ganeti gives its hooks, plus where nfdhcpd is.
ip netns exec "$hv" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	NFDHCPD="$bin" NFDHCPD_CONFIG="$tmp/nfdhcpd.conf" \
	INSTANCE=demo-vm MODE=routed MAC=$mac IP=192.0.2.10 \
	NETWORK_SUBNET=192.0.2.0/24 NETWORK_GATEWAY=192.0.2.1 \
	NETWORK_SUBNET6=$subnet6 NETWORK_GATEWAY6=2001:db8:1::1 \
	qemu-system-x86_64 -nodefaults -no-user-config -display none -machine pc,graphics=off \
	-m 256 -no-reboot -chardev stdio,id=console,signal=off -serial chardev:console \
	-kernel "$KERNEL" -initrd "$INITRD" -append "console=ttyS0 quiet panic=-1 vm_eui64=$eui64 vm_dhcpv6=yes" \
	-netdev "tap,id=net0,ifname=tap0,script=$here/../contrib/ganeti/kvm-ifup-custom,downscript=$here/../contrib/ganeti/kvm-ifdown-custom" \
	-device "virtio-net-pci,netdev=net0,mac=$mac,romfile=" \
	<"$tmp/console-in" >"$tmp/console.log" 2>&1 &
qemu=$!
exec 3>"$tmp/console-in"

for _ in $(seq 600); do
	[ -s "$tmp/bindings/tap0" ] && break
	sleep 0.1
done
echo "== binding file the hook wrote: $tmp/bindings/tap0"
sed 's/^/   /' "$tmp/bindings/tap0"

echo "== waiting for the guest (TCG: tens of seconds on a busy machine)"
for _ in $(seq 1800); do
	grep -aq NFDVM-RESULT "$tmp/console.log" && break
	kill -0 "$qemu" 2>/dev/null || break
	sleep 0.1
done
result=$(grep -a NFDVM-RESULT "$tmp/console.log" | tr -d '\r' || true)
if [ -z "$result" ]; then
	sed 's/^/   /' "$tmp/console.log"
	echo "demo-vm: the guest printed no result" >&2
	exit 1
fi
echo "   $((($(date +%s%N) - start) / 1000000)) ms after QEMU started, the guest reports:"
echo "$result" | tr ' ' '\n' | grep -F = | sed 's/^/     /'

echo "== nfdhcpd status"
"$bin" status -socket "$tmp/control" | sed 's/^/   /'

echo "== poweroff on the guest's console: QEMU deletes tap0 and runs kvm-ifdown-custom tap0"
echo poweroff >&3
wait "$qemu" || true
qemu=""
if ip -n "$hv" link show tap0 >/dev/null 2>&1; then echo "   tap0 still exists" >&2; exit 1; fi
echo "   tap0 is gone; bindings left: $(find "$tmp/bindings" -type f | wc -l)"

kill -TERM "$daemon"
status=0
wait "$daemon" || status=$?
daemon=""
echo "== daemon log (exit status $status after SIGTERM)"
sed 's/^/   /' "$tmp/daemon.log"
exit "$status"
