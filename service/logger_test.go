package service

import "testing"

func TestJournalField(t *testing.T) {
	tests := []struct{ key, want string }{
		{"TAP", "TAP"},
		{"error", "ERROR"},
		{"binding_file", "BINDING_FILE"},
		{"ip6.addr", "IP6_ADDR"},
		{"_SYSTEMD_UNIT", "F_SYSTEMD_UNIT"},
		{"9lives", "F9LIVES"},
		{"", "F"},
		{"ünï", "F_N_"},
		{"a234567890123456789012345678901234567890123456789012345678901234567890", "A234567890123456789012345678901234567890123456789012345678901234"},
	}
	for _, tt := range tests {
		if got := journalField(tt.key); got != tt.want {
			t.Errorf("journalField(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}
