#!/bin/sh
# dhclient -6's script in the test guest: record the DNS servers and search
# list of the DHCPv6 reply in /tmp/lease6 for /init.
case "$reason" in
INFORM6 | BOUND6 | RENEW6 | REBIND6) ;;
*) exit 0 ;;
esac
{
	echo "dns6='$(echo $new_dhcp6_name_servers | tr ' ' ',')'"
	echo "search6='$(echo $new_dhcp6_domain_search | tr ' ' ',')'"
} >/tmp/lease6
