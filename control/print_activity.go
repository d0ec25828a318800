package control

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// printActivityTable adds to the status what the VMs did: one line per
// VM that sent anything, then the event command's and the DNS
// registration's state.
func printActivityTable(tw *tabwriter.Writer, r Report) {
	header := false
	for _, b := range r.Bindings {
		a := b.Activity
		if a == nil {
			continue
		}
		if !header {
			fmt.Fprintln(tw)
			fmt.Fprintln(tw, "TAP\tLEASE\tLEASE END\tCLIENT HOSTNAME\tVENDOR CLASS\tIPV6 IN USE\tDNS")
			header = true
		}
		var seen []string
		for _, s := range a.Seen6 {
			seen = append(seen, s.Address)
		}
		dnsState := ""
		if b.DNS != nil {
			dnsState = b.DNS.State
		}
		end := ""
		if !a.LeaseEnd.IsZero() {
			end = a.LeaseEnd.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.Name, dash(a.LeaseIP), dash(end), dash(a.ClientHostname),
			dash(a.VendorClass), dash(strings.Join(seen, ",")), dash(dnsState))
	}
	if e := r.Events; e != nil {
		fmt.Fprintf(tw, "\nevent command %s: %d run, %d failed (%d timed out), %d dropped, %d queued\n",
			e.Command, e.Run, e.Failed, e.TimedOut, e.Dropped, e.Queued)
	}
	if d := r.DNS; d != nil {
		fmt.Fprintf(tw, "\ndns %s zone %s key %s: %d registered, %d pending, %d failing; %d updates, %d failures, %d removed\n",
			d.Server, d.Zone, dash(d.Key), d.Registered, d.Pending, d.Failing, d.Updates, d.Failures, d.Removed)
		if d.ReconcileNote != "" {
			fmt.Fprintf(tw, "dns reconcile skipped: %s\n", d.ReconcileNote)
		}
		for _, p := range d.Problems {
			fmt.Fprintf(tw, "dns %s %s %s: %s\n", p.TAP, p.Name, p.State, p.Error)
		}
	}
}

// PrintVM prints everything the status knows of tap's binding.
func PrintVM(w io.Writer, r Report, tap string, asJSON bool) error {
	var b *BindingReport
	for i := range r.Bindings {
		if r.Bindings[i].Name == tap {
			b = &r.Bindings[i]
		}
	}
	if b == nil {
		return fmt.Errorf("status: no binding %q", tap)
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(b)
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	line("tap", b.Name)
	line("state", b.State)
	line("reason", b.Reason)
	line("file", b.File)
	line("indev", b.Indev)
	line("mac", b.MAC)
	line("ip", b.IP)
	line("ipv6", b.IP6)
	line("hostname", b.Hostname)
	if a := b.Activity; a != nil {
		line("lease", a.LeaseIP)
		if !a.LeaseAt.IsZero() {
			line("lease acked", a.LeaseAt.UTC().Format(time.RFC3339))
			line("lease end", a.LeaseEnd.UTC().Format(time.RFC3339))
		}
		line("client hostname", a.ClientHostname)
		line("vendor class", a.VendorClass)
		line("user class", a.UserClass)
		line("client id", a.ClientID)
		if len(a.ParamRequestList) > 0 {
			line("parameter list", strings.Trim(fmt.Sprint(a.ParamRequestList), "[]"))
		}
		line("dhcpv6 duid", a.DUID)
		line("dhcpv6 addresses", strings.Join(a.Leased6, ", "))
		line("dhcpv6 prefixes", strings.Join(a.Delegated6, ", "))
		for _, s := range a.Seen6 {
			line("ipv6 in use", fmt.Sprintf("%s (%s, first %s, last %s)", s.Address, s.How,
				s.First.UTC().Format(time.RFC3339), s.Last.UTC().Format(time.RFC3339)))
		}
		for _, q := range a.LastRequests {
			line("last "+q.Protocol+" "+q.Type, q.At.UTC().Format(time.RFC3339Nano))
		}
	} else {
		line("activity", "nothing from the VM since the binding appeared or changed")
	}
	if d := b.DNS; d != nil {
		line("dns", fmt.Sprintf("%s %s %s", d.Name, d.State, strings.Join(d.Addresses, ",")))
		line("dns error", d.Error)
	}
	return tw.Flush()
}
