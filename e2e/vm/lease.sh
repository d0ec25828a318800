#!/bin/sh
# udhcpc's script in the test guest: configure eth0 from the lease and
# record what the lease said in /tmp/lease for /init.
case "$1" in
bound | renew) ;;
*) exit 0 ;;
esac
read -r up _ </proc/uptime
bits=$(ipcalc -p "$ip" "$subnet" | cut -d= -f2)
ip addr add "$ip/$bits" dev "$interface"
[ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
[ -n "$router" ] && ip route add default via "${router%% *}" dev "$interface"
{
	echo "ip='$ip'"
	echo "mask='$subnet'"
	echo "router='$router'"
	echo "dns='$(echo $dns | tr ' ' ',')'"
	echo "domain='$domain'"
	echo "hostname='$hostname'"
	echo "mtu='$mtu'"
	echo "lease='$lease'"
	echo "serverid='$serverid'"
	echo "lease_t='$up'"
} >/tmp/lease
