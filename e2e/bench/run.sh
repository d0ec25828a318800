#!/bin/sh
# run.sh — the whole-system load benchmark behind `make bench`.
#
# Installs the servers it compares with when they are missing (Debian
# packages kea-admin for perfdhcp, kea-dhcp4-server, dnsmasq-base), builds
# the daemon and the null responder, and runs cmd/dhcpload as root twice
# (one loaded TAP; four loaded TAPs on hosts of 4 and 241), each printing
# a table with a row per server, all measured in that run; then
# runs cmd/bootstorm (241 VMs boot at once, nfdhcpd against dnsmasq +
# radvd; twice: guests with Linux's DAD timers, a random delay below 1 s
# before each probe and 1 s of waiting, and guests with optimistic DAD) unless BENCH_STORM=0, and cmd/scale (10,000
# binding files) unless BENCH_SCALE=0.
# Extra arguments go to both dhcpload runs (e.g. -seconds 6 -servers
# nfdhcpd,dnsmasq; -client perfdhcp loads the VMs with perfdhcp instead).
set -eu

cd "$(dirname "$0")/../.."
GO=${GO:-go}
command -v "$GO" >/dev/null 2>&1 || GO=/usr/local/go/bin/go

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (network namespaces, iptables in them, NFQUEUE)" >&2
	exit 1
fi

missing=""
command -v perfdhcp >/dev/null 2>&1 || [ -x /usr/sbin/perfdhcp ] || missing="$missing kea-admin"
command -v kea-dhcp4 >/dev/null 2>&1 || [ -x /usr/sbin/kea-dhcp4 ] || missing="$missing kea-dhcp4-server"
command -v dnsmasq >/dev/null 2>&1 || [ -x /usr/sbin/dnsmasq ] || missing="$missing dnsmasq-base"
command -v iptables >/dev/null 2>&1 || [ -x /usr/sbin/iptables ] || missing="$missing iptables"
command -v radvd >/dev/null 2>&1 || [ -x /usr/sbin/radvd ] || missing="$missing radvd"
if [ -n "$missing" ]; then
	echo "bench: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086 # one word per package
	apt-get install -y -qq --no-install-recommends $missing
	# The packaged services are not wanted running: the benchmark starts
	# its own instances inside namespaces.
	for unit in kea-dhcp4-server radvd; do
		systemctl disable --now "$unit" >/dev/null 2>&1 || true
	done
fi
PATH=$PATH:/usr/sbin:/sbin
export PATH

bin=$(mktemp -d /tmp/nfdhcpd-bench-bin.XXXXXX)
trap 'rm -rf "$bin"' EXIT INT TERM
"$GO" build -o "$bin/nfdhcpd" ./cmd/nfdhcpd
"$GO" build -o "$bin/nullresponder" ./e2e/bench/cmd/nullresponder
"$GO" build -o "$bin/dhcpload" ./e2e/bench/cmd/dhcpload
"$GO" build -o "$bin/scale" ./e2e/bench/cmd/scale
"$GO" build -o "$bin/bootstorm" ./e2e/bench/cmd/bootstorm

echo "bench: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run" >&2
# One VM on one TAP (the one-TAP figures), then four VMs on four TAPs of a
# host of 4 and of 241 TAPs, every VM loaded by dhcpload's own packet
# generator; BENCH_ARGS come last, so they override either.
"$bin/dhcpload" -nfdhcpd "$bin/nfdhcpd" -nullresponder "$bin/nullresponder" -clients 1 -taps 1 "$@"
"$bin/dhcpload" -nfdhcpd "$bin/nfdhcpd" -nullresponder "$bin/nullresponder" -clients 4 -taps 4,241 "$@"
status=0
if [ "${BENCH_STORM:-1}" != 0 ]; then
	# A lost VM is a result to print, not a reason to skip the rest.
	"$bin/bootstorm" -nfdhcpd "$bin/nfdhcpd" || status=1
	"$bin/bootstorm" -nfdhcpd "$bin/nfdhcpd" -dad-wait 0 || status=1
fi
if [ "${BENCH_SCALE:-1}" != 0 ]; then
	"$bin/scale" -nfdhcpd "$bin/nfdhcpd"
fi
exit $status
