#!/usr/bin/env bash
# demo.sh BINARY — show nfdhcpd bringing a VM up on IPv4 and IPv6, in
# throw-away network namespaces, and clean everything up afterwards: a DHCPv4
# lease (udhcpc), an address from the Router Advertisement (the VM kernel's
# SLAAC) and the DNS servers over stateless DHCPv6 (dhclient -6 -S).
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
for c in ip iptables ip6tables udhcpc dhclient; do
	command -v "$c" >/dev/null || { echo "demo: missing command $c (make demo-deps)" >&2; exit 1; }
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

# wait_for TRIES CMD... runs CMD every 0.1 s until it succeeds, at most
# TRIES times.
wait_for() {
	local tries=$1
	shift
	for _ in $(seq "$tries"); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

echo "== namespaces $hv (hypervisor) and $vm (VM), veth tap-demo <-> eth0"
ip netns add "$hv"
ip netns add "$vm"
ip -n "$hv" link set lo up
ip -n "$vm" link set lo up
ip -n "$hv" link add tap-demo type veth peer name eth0 netns "$vm"
# The VM's link comes up once the daemon serves: its kernel solicits a
# router right then, and gives up after three tries.
ip -n "$vm" link set eth0 address 52:54:00:12:34:56
ip -n "$hv" link set tap-demo up

echo "== capture rules in the hypervisor namespace"
ip netns exec "$hv" iptables -t mangle -A PREROUTING -i tap+ -p udp --dport 67 \
	-j NFQUEUE --queue-num 42 --queue-bypass
ip netns exec "$hv" ip6tables -t mangle -A PREROUTING -i tap+ -p icmpv6 --icmpv6-type router-solicitation \
	-j NFQUEUE --queue-num 43 --queue-bypass
ip netns exec "$hv" ip6tables -t mangle -A PREROUTING -i tap+ -p icmpv6 --icmpv6-type neighbour-solicitation \
	-j NFQUEUE --queue-num 44 --queue-bypass
ip netns exec "$hv" ip6tables -t mangle -A PREROUTING -i tap+ -p udp --dport 547 \
	-j NFQUEUE --queue-num 45 --queue-bypass
{
	ip netns exec "$hv" iptables -t mangle -S PREROUTING
	ip netns exec "$hv" ip6tables -t mangle -S PREROUTING
} | grep NFQUEUE | sed 's/^/   /'

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
# auto: addresses by SLAAC from the Router Advertisement, DNS by DHCPv6
mode = auto
nameservers = 2001:db8:53::1
domains = example.org
EOF
cat >"$tmp/bindings/tap-demo" <<EOF
MAC=52:54:00:12:34:56
IP=192.0.2.10
SUBNET=192.0.2.0/24
GATEWAY=192.0.2.1
SUBNET6=2001:db8:1::/64
GATEWAY6=2001:db8:1::1
HOSTNAME=demo-vm
MTU=1450
TAGS="demo"
EOF
echo "== binding file $tmp/bindings/tap-demo"
sed 's/^/   /' "$tmp/bindings/tap-demo"

echo "== starting nfdhcpd in $hv (-d: a log line per answer)"
ip netns exec "$hv" "$bin" -c "$tmp/nfdhcpd.conf" -d -f >"$tmp/daemon.log" 2>&1 &
daemon=$!
for _ in $(seq 100); do
	grep -q 'ready to serve requests' "$tmp/daemon.log" && break
	kill -0 "$daemon" 2>/dev/null || { cat "$tmp/daemon.log"; echo "demo: daemon exited" >&2; exit 1; }
	sleep 0.1
done
ip -n "$vm" link set eth0 up

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
echo "== what the VM received over DHCPv4"
sed 's/^/   /' "$tmp/lease"

slaac_address() {
	ip -n "$vm" -6 addr show dev eth0 scope global | grep -v tentative | grep -q 'inet6 2001:db8:1:'
}
link_local_ready() {
	ip -n "$vm" -6 addr show dev eth0 scope link | grep -v tentative | grep -q 'inet6 fe80::'
}
echo "== IPv6 in $vm: its kernel solicits a router and forms an address (SLAAC)"
wait_for 100 slaac_address || { echo "demo: no SLAAC address after 10 s" >&2; exit 1; }
wait_for 50 link_local_ready || { echo "demo: link-local address still tentative" >&2; exit 1; }

cat >"$tmp/dhclient6.sh" <<EOF
#!/bin/sh
[ -n "\$new_dhcp6_name_servers" ] || exit 0
cat >"$tmp/lease6" <<LEASE
DNS       \$new_dhcp6_name_servers
search    \$new_dhcp6_domain_search
LEASE
EOF
chmod +x "$tmp/dhclient6.sh"
echo "== dhclient -6 -S in $vm (stateless DHCPv6: an Information-Request)"
ip netns exec "$vm" timeout 15 dhclient -6 -S -d -v -sf "$tmp/dhclient6.sh" \
	-lf "$tmp/dhclient6.leases" -pf "$tmp/dhclient6.pid" eth0 2>&1 |
	grep -E '^(XMT|RCV)' | sed 's/^/   /' || true
[ -s "$tmp/lease6" ] || { echo "demo: dhclient -6 -S got no DNS servers" >&2; exit 1; }

echo "== what the VM received over IPv6"
{
	ip -n "$vm" -6 addr show dev eth0 scope global |
		awk '$1 == "inet6" { print "address  ", $2, "(SLAAC in the advertised prefix)" }'
	ip -n "$vm" -6 route show default | awk '{ print "router   ", $3, "(the advertisement'"'"'s source)" }'
	echo "MTU       $(ip netns exec "$vm" cat /proc/sys/net/ipv6/conf/eth0/mtu)"
	cat "$tmp/lease6"
} | sed 's/^/   /'

kill -TERM "$daemon"
status=0
wait "$daemon" || status=$?
daemon=""
echo "== daemon log (exit status $status after SIGTERM)"
sed 's/^/   /' "$tmp/daemon.log"
exit "$status"
