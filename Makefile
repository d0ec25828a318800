# nfdhcpd — build, test and demo.
#
#   make build   compile bin/nfdhcpd
#   make test    everything CI runs: Debian test tools, vet, unit tests, race
#                tests, the end-to-end suite in network namespaces (root),
#                and a short fuzz smoke run of every fuzz target
#   make demo    run the daemon in a throw-away namespace and let a VM
#                namespace come up on it: a DHCPv4 lease with udhcpc, an
#                IPv6 address from the Router Advertisement (SLAAC) and the
#                DNS servers with dhclient -6 -S (root; installs the few
#                Debian packages it needs first)
#   make demo-vm the same with a real QEMU guest on a TAP bound by the
#                Ganeti hook (root; the guest is cached in bin/vm-cache)
#   make bench   Go benchmarks of the hot paths and of the routing module,
#                then the load comparison with dnsmasq, Kea and the null
#                responder, the boot storm against dnsmasq + radvd and the
#                scale figures (e2e/bench/run.sh, root)
#   make fuzz    longer fuzzing (FUZZTIME per target, default 60s)
#   make deb     build bin/nfdhcpd_VERSION_ARCH.deb (static binary, unit,
#                config, hooks, examples, man page) with dpkg-deb

SHELL := /bin/bash
# Go lives in /usr/local/go on the build hosts; the test tools in sbin.
export PATH := /usr/local/go/bin:$(PATH):/usr/local/sbin:/usr/sbin:/sbin

GO        ?= go
BIN       := bin/nfdhcpd
MODULE    := github.com/nfdhcpd/nfdhcpd
# Every package but the end-to-end suite, which needs the binary and root.
UNIT_PKGS  = $(shell $(GO) list ./... | grep -v '^$(MODULE)/e2e$$')
# The smoke run is bounded by a count, not a duration: Go 1.26's fuzz
# coordinator can end a time-bounded run with a spurious "context deadline
# exceeded" failure (golang/go#75804).
SMOKE_FUZZTIME ?= 3000x
FUZZTIME  ?= 60s
E2E_TIMEOUT ?= 30m
# The real-VM tests' guest (kernel and initramfs), built once.
VM_CACHE  := $(abspath bin/vm-cache)
# Per test binary: a hung test fails well before CI's limit.
UNIT_TIMEOUT ?= 5m

# command:Debian package(s) pairs the tests and the demo run; a comma joins
# packages installed together (-race needs the C library headers as well as
# gcc, which --no-install-recommends would leave out). An absolute path
# stands for a package without a command (the iPXE ROM of the real-VM
# tests).
TEST_TOOLS := udhcpc:udhcpc radvd:radvd dhclient:isc-dhcp-client dhcpcd:dhcpcd-base \
	rdisc6:ndisc6 ndisc6:ndisc6 tcpdump:tcpdump iptables:iptables nft:nftables \
	arptables:arptables ip:iproute2 perfdhcp:kea-admin dnsmasq:dnsmasq-base gcc:gcc,libc6-dev \
	systemd-analyze:systemd sysctl:procps shellcheck:shellcheck dpkg-deb:dpkg chroot:coreutils \
	named:bind9 tsig-keygen:bind9 dig:bind9-dnsutils nsupdate:bind9-dnsutils \
	unshare:util-linux nsenter:util-linux systemd-cat:systemd journalctl:systemd \
	bird:bird2 birdc:bird2 \
	qemu-system-x86_64:qemu-system-x86 /usr/lib/ipxe/qemu/efi-virtio.rom:ipxe-qemu busybox:busybox-static \
	xz:xz-utils ldd:libc-bin

# The demo's commands: the namespaces, the capture rules, the VM's DHCPv4
# and DHCPv6 clients.
DEMO_TOOLS := ip:iproute2 iptables:iptables ip6tables:iptables udhcpc:udhcpc dhclient:isc-dhcp-client
# demo-vm's: those, and what builds and runs the guest.
DEMO_VM_TOOLS := $(DEMO_TOOLS) qemu-system-x86_64:qemu-system-x86 busybox:busybox-static \
	dpkg-deb:dpkg ldd:libc-bin xz:xz-utils

.PHONY: all build test deps demo-deps demo-vm-deps vet unit race e2e e2e-race fuzz-smoke fuzz bench demo demo-vm deb clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/nfdhcpd

test: deps vet unit race e2e e2e-race fuzz-smoke

# deps installs the Debian packages of the test tools that are missing, and
# nothing when all are present; demo-deps does the same for the few the demo
# runs, so that `make demo` works as the first command on a fresh machine.
# install_missing takes a list of command:package pairs.
define install_missing
	@missing=""; \
	for pair in $(1); do \
		tool="$${pair%%:*}"; \
		if [[ "$$tool" == /* ]]; then [ -e "$$tool" ]; else command -v "$$tool" >/dev/null 2>&1; fi \
			|| missing="$$missing $${pair#*:}"; \
		missing="$${missing//,/ }"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call install_missing,$(TEST_TOOLS))

demo-deps:
	$(call install_missing,$(DEMO_TOOLS))

demo-vm-deps:
	$(call install_missing,$(DEMO_VM_TOOLS))

vet:
	$(GO) vet ./...
	@unformatted="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$unformatted" ]; then echo "not gofmt-formatted:"; echo "$$unformatted"; exit 1; fi

unit:
	$(GO) test -count=1 -timeout $(UNIT_TIMEOUT) $(UNIT_PKGS)

race:
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout $(UNIT_TIMEOUT) $(UNIT_PKGS)

# e2e runs the real binary against real clients; it needs root (under
# CI=true a missing prerequisite fails instead of skipping).
e2e: build
	NFDHCPD_BIN=$(abspath $(BIN)) NFDHCPD_VM_CACHE=$(VM_CACHE) $(GO) test ./e2e -count=1 -v -timeout $(E2E_TIMEOUT)

# e2e-race runs the end-to-end tests where the daemon's races can hide
# again, the tests and the daemon under test both built with -race: those
# show only under real traffic, signals, reloads, binding churn and the
# routing module's, the activity's and the DNS registration's goroutines.
# Tests of static artefacts (packages, unit files, hooks, rule files), of
# one more client on a path already covered, and the slow topologies whose
# code the routed setup already runs (real VMs, BGP, netboot) run once, in
# e2e. E2E_RACE_RUN='.' runs them all.
RACE_BIN := bin/nfdhcpd-race
E2E_RACE_RUN ?= ^(TestDHCPv4RealClients|TestBindingLifecycleWhileRunning|TestHostileBindingFiles|TestHostileVM|TestControlPlaneChurn|TestKill9UnderLoad|TestQueueFullFailsOpen|TestSenderErrors|TestFloodDoesNotStarveOtherTAPs|TestRateLimitReload|TestReloadChangesNameservers|TestStatusShowsBindingsAndCounters|TestMetricsMoveWithTraffic|TestUserNobodyKeepsServing|TestIPv6DHCPv6Stateful|TestIPv6DuplicateAddressDetection|TestIPv6PromptRA|TestRoutedSetup|TestAddresses|TestBridgeGuard|TestProfile|TestEventCommand|TestDNSRegistration|TestLeaseActivityStatus)$$
e2e-race:
	CGO_ENABLED=1 $(GO) build -race -o $(RACE_BIN) ./cmd/nfdhcpd
	NFDHCPD_BIN=$(abspath $(RACE_BIN)) NFDHCPD_E2E_RACE=1 NFDHCPD_VM_CACHE=$(VM_CACHE) CGO_ENABLED=1 \
		$(GO) test -race ./e2e -count=1 -v -timeout $(E2E_TIMEOUT) -run '$(E2E_RACE_RUN)'

# fuzz-smoke runs every fuzz target for SMOKE_FUZZTIME, one worker each, so
# that the corpus and the round-trip checks are exercised on every run.
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(SMOKE_FUZZTIME)

fuzz:
	@set -e; for pkg in $(UNIT_PKGS); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "fuzz $$pkg $$target ($(FUZZTIME))"; \
			$(GO) test -run='^$$' -fuzz="^$$target$$" -fuzztime=$(FUZZTIME) -parallel=1 $$pkg; \
		done; \
	done

# The routing benchmark installs 1,000 bindings' state in a namespace: five
# rounds through netlink and ip -batch, one with an ip command per entry
# (4,000 of them: a minute).
bench:
	$(GO) test -run='^$$' -bench=. -benchmem $(UNIT_PKGS)
	$(GO) test -run='^$$' -bench='RoutingInstall$$/(netlink-entries|reconciler-sync|ip-batch)$$' -benchtime=5x ./e2e
	$(GO) test -run='^$$' -bench='RoutingInstall$$/ip-per-entry$$' -benchtime=1x ./e2e
	$(GO) test -run='^$$' -bench='BridgeGuardInstall' -benchtime=5x ./e2e
	$(GO) test -run='^$$' -bench='RoutingInstallAddresses' -benchtime=3x ./e2e
	GO=$(GO) e2e/bench/run.sh $(BENCH_ARGS)

demo: demo-deps build
	e2e/demo.sh $(abspath $(BIN))

demo-vm: demo-vm-deps build
	GO=$(GO) e2e/demo-vm.sh $(abspath $(BIN)) $(VM_CACHE)

# DEB_VERSION must start with a digit; by default 0.1.0 plus the date and
# hash of the last commit.
DEB_VERSION ?= 0.1.0+git$(shell git log -1 --format=%cd.%h --date=format:%Y%m%d 2>/dev/null || echo 0)

deb:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-X main.buildVersion=$(DEB_VERSION)" -o bin/nfdhcpd-static ./cmd/nfdhcpd
	sh contrib/debian/build-deb.sh bin/nfdhcpd-static $(DEB_VERSION) bin

clean:
	rm -rf bin
