#!/bin/sh
# /init of the test guest (busybox sh as PID 1). It loads the virtio
# network driver, runs the checks its kernel command line asks for, prints
# one NFDVM-RESULT line on the serial console and then obeys commands read
# from the console (ping4, ping6, poweroff). Parameters come from the kernel
# command line, which passes unknown NAME=VALUE words to init's environment:
#   vm_eui64  the SLAAC address to wait for (empty: no IPv6 checks)
#   vm_ping4  vm_ping6  addresses to ping once configured
#   vm_dhcpv6 "yes": ask DHCPv6 for DNS servers (dhclient -6 -S)
export PATH=/bin
mount -t devtmpfs dev /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
mkdir -p /tmp /run /var/lib/dhcp /etc/dhcp
: >/etc/dhcp/dhclient.conf
stty -echo 2>/dev/null

uptime_s() { read -r up _ </proc/uptime; echo "$up"; }

fail() {
	echo "NFDVM-RESULT status=fail reason=$1 t=$(uptime_s)"
	poweroff -f
}

# No modules.dep in the package: load the driver stack in dependency order.
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net; do
	insmod "/lib/modules/$m.ko" || fail "insmod-$m"
done
i=0
while [ ! -e /sys/class/net/eth0 ]; do
	i=$((i + 1))
	[ "$i" -gt 100 ] && fail no-eth0
	sleep 0.1
done
echo "NFDVM-EVENT driver t=$(uptime_s)"
ip link set lo up
ip link set eth0 up

udhcpc -i eth0 -f -q -n -t 10 -T 2 -s /bin/lease.sh -O mtu -O domain -O hostname >/tmp/udhcpc.log 2>&1 ||
	{ cat /tmp/udhcpc.log; fail no-lease; }
. /tmp/lease
echo "NFDVM-EVENT lease ip=$ip t=$(uptime_s)"
result="ip=$ip mask=$mask router=$router dns=$dns domain=$domain hostname=$hostname mtu=$mtu lease=$lease server=$serverid ifmtu=$(cat /sys/class/net/eth0/mtu) t_lease=$lease_t"

if [ -n "$vm_eui64" ]; then
	i=0
	until ip -6 addr show dev eth0 scope global | grep -v tentative | grep -q "inet6 $vm_eui64/64"; do
		i=$((i + 1))
		[ "$i" -gt 600 ] && fail "no-slaac-$(ip -6 addr show dev eth0 scope global | grep -o 'inet6 [^ ]*' | tr ' \n' '=,')"
		sleep 0.1
	done
	echo "NFDVM-EVENT slaac t=$(uptime_s)"
	result="$result slaac=$vm_eui64 t_slaac=$(uptime_s) v6router=$(ip -6 route show default | grep -o 'via [^ ]*' | head -1 | cut -d' ' -f2)"
fi

if [ "$vm_dhcpv6" = yes ]; then
	dhclient -6 -S -1 -v -lf /var/lib/dhcp/lease6 -pf /run/dhclient6.pid -sf /bin/lease6.sh eth0 >/tmp/dhclient.log 2>&1 ||
		{ cat /tmp/dhclient.log; fail no-dhcpv6; }
	. /tmp/lease6
	result="$result dns6=$dns6 search6=$search6 t_dhcpv6=$(uptime_s)"
fi

# ping ADDR: one answer within five tries.
ping_ok() {
	for _ in 1 2 3 4 5; do
		ping -c 1 -W 1 "$1" >/dev/null 2>&1 && { echo ok; return; }
	done
	echo fail
}
[ -n "$vm_ping4" ] && result="$result ping4=$(ping_ok "$vm_ping4")"
[ -n "$vm_ping6" ] && result="$result ping6=$(ping_ok "$vm_ping6")"

echo "NFDVM-RESULT status=ok $result t=$(uptime_s)"

while read -r cmd arg; do
	case "$cmd" in
	ping) echo "NFDVM-PING $arg $(ping_ok "$arg")" ;;
	poweroff) echo "NFDVM-POWEROFF t=$(uptime_s)"; poweroff -f ;;
	"") ;;
	*) echo "NFDVM-UNKNOWN $cmd" ;;
	esac
done
poweroff -f
