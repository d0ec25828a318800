#!/usr/bin/env bash
# demo.sh BINARY — show nfdhcpd answering a VM's DHCP request, in throw-away
# network namespaces, and clean everything up afterwards.
#
# Topology: a "hypervisor" namespace holds the daemon, the NFQUEUE capture
# rules and tap-demo, the host end of a veth pair; a "VM" namespace holds the
# other end as eth0. A veth end stands in for the TAP device because a real
# TAP only carries frames to the process holding its file descriptor, not to
# another namespace; for the daemon both look the same (an interface with an
# index and a MAC that receives the VM's frames and transmits what is
# written to it).
set -euo pipefail

bin=${1:?usage: demo.sh path/to/nfdhcpd}
bin=$(readlink -f "$bin")
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root (network namespaces, iptables)" >&2
	exit 1
fi
for c in ip iptables udhcpc; do
	command -v "$c" >/dev/null || { echo "demo: missing command $c (make deps)" >&2; exit 1; }
done

hv=nfd-demo-hv-$$
vm=nfd-demo-vm-$$
tmp=$(mktemp -d /tmp/nfdhcpd-demo.XXXXXX)
daemon=""

cleanup() {
	if [ -n "$daemon" ]; then
		kill -TERM "$daemon" 2>/dev/null || true
		wait "$daemon" 2>/dev/null || true
	fi
	ip netns del "$vm" 2>/dev/null || true
	ip netns del "$hv" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "== namespaces $hv (hypervisor) and $vm (VM), veth tap-demo <-> eth0"
ip netns add "$hv"
ip netns add "$vm"
ip -n "$hv" link set lo up
ip -n "$vm" link set lo up
ip -n "$hv" link add tap-demo type veth peer name eth0 netns "$vm"
ip -n "$vm" link set eth0 address 52:54:00:12:34:56 up
ip -n "$hv" link set tap-demo up

echo "== capture rule in the hypervisor namespace"
ip netns exec "$hv" iptables -t mangle -A PREROUTING -i tap+ -p udp --dport 67 \
	-j NFQUEUE --queue-num 42 --queue-bypass
ip netns exec "$hv" iptables -t mangle -S PREROUTING | sed 's/^/   /'

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
lease_lifetime = 3600   # one hour
lease_renewal = 600

[ipv6]
enable_ipv6 = no
EOF
cat >"$tmp/bindings/tap-demo" <<EOF
MAC=52:54:00:12:34:56
IP=192.0.2.10
SUBNET=192.0.2.0/24
GATEWAY=192.0.2.1
HOSTNAME=demo-vm
MTU=1450
TAGS="demo"
EOF
echo "== binding file $tmp/bindings/tap-demo"
sed 's/^/   /' "$tmp/bindings/tap-demo"

echo "== starting nfdhcpd in $hv"
ip netns exec "$hv" "$bin" -c "$tmp/nfdhcpd.conf" -f >"$tmp/daemon.log" 2>&1 &
daemon=$!
for _ in $(seq 100); do
	if ip netns exec "$hv" cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null | grep -q '^ *42 '; then
		break
	fi
	kill -0 "$daemon" 2>/dev/null || { cat "$tmp/daemon.log"; echo "demo: daemon exited" >&2; exit 1; }
	sleep 0.1
done

cat >"$tmp/udhcpc.sh" <<EOF
#!/bin/sh
[ "\$1" = bound ] || exit 0
cat >"$tmp/lease" <<LEASE
address   \$ip
mask      \$subnet
router    \${router:-(none)}
DNS       \$dns
domain    \$domain
hostname  \$hostname
MTU       \$mtu
lease     \$lease s
server    \$serverid
LEASE
EOF
chmod +x "$tmp/udhcpc.sh"

echo "== udhcpc in $vm"
ip netns exec "$vm" udhcpc -i eth0 -f -q -n -t 3 -T 1 -s "$tmp/udhcpc.sh" \
	-O mtu -O domain -O hostname 2>&1 | sed 's/^/   /'
echo "== what the VM received"
sed 's/^/   /' "$tmp/lease"

kill -TERM "$daemon"
status=0
wait "$daemon" || status=$?
daemon=""
echo "== daemon log (exit status $status after SIGTERM)"
sed 's/^/   /' "$tmp/daemon.log"
exit "$status"
