package dnsreg_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nfdhcpd/nfdhcpd/activity/dnsreg"
)

func TestParseKeyFile(t *testing.T) {
	for _, tt := range []struct {
		name, file string
		want       dnsreg.Key
		wantErr    bool
	}{
		{
			name: "tsig-keygen",
			file: "key \"act-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0\";\n};\n",
			want: dnsreg.Key{Name: "act-key", Algorithm: "hmac-sha256", Secret: "c2VjcmV0"},
		},
		{
			name: "comments and one line",
			file: "# made by hand\n// really\nkey ddns-key.example.org { algorithm \"hmac-sha512\"; secret \"YWJj\"; };",
			want: dnsreg.Key{Name: "ddns-key.example.org", Algorithm: "hmac-sha512", Secret: "YWJj"},
		},
		{name: "no secret", file: "key \"k\" { algorithm hmac-sha256; };", wantErr: true},
		{name: "no key", file: "options { };", wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dnsreg.ParseKeyFile([]byte(tt.file))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("key (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAlgorithm(t *testing.T) {
	if a, err := dnsreg.Algorithm(""); err != nil || a != "hmac-sha256." {
		t.Errorf("default algorithm = %q, %v", a, err)
	}
	if a, err := dnsreg.Algorithm("HMAC-SHA512."); err != nil || a != "hmac-sha512." {
		t.Errorf("hmac-sha512 = %q, %v", a, err)
	}
	if _, err := dnsreg.Algorithm("hmac-sha3"); err == nil {
		t.Error("unknown algorithm accepted")
	}
}
