package dnsreg

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/miekg/dns"
)

// A Key is a TSIG key: its name, algorithm and base64 secret.
type Key struct {
	Name, Algorithm, Secret string
}

var (
	keyFileKey    = regexp.MustCompile(`(?s)key\s+"?([^"\s{]+)"?\s*\{(.*?)\}\s*;`)
	keyFileAlg    = regexp.MustCompile(`algorithm\s+"?([A-Za-z0-9.-]+)"?\s*;`)
	keyFileSecret = regexp.MustCompile(`secret\s+"([^"]+)"\s*;`)
	keyFileNote   = regexp.MustCompile(`(?m)(#|//).*$`)
)

// ParseKeyFile reads the first key of a BIND key file, as tsig-keygen and
// ddns-confgen write it:
//
//	key "name" {
//		algorithm hmac-sha256;
//		secret "base64";
//	};
func ParseKeyFile(data []byte) (Key, error) {
	text := keyFileNote.ReplaceAllString(string(data), "")
	m := keyFileKey.FindStringSubmatch(text)
	if m == nil {
		return Key{}, fmt.Errorf("dnsreg: no key \"NAME\" { ... }; statement")
	}
	k := Key{Name: m[1]}
	if a := keyFileAlg.FindStringSubmatch(m[2]); a != nil {
		k.Algorithm = a[1]
	}
	s := keyFileSecret.FindStringSubmatch(m[2])
	if s == nil {
		return Key{}, fmt.Errorf("dnsreg: key %q has no secret \"...\"; line", k.Name)
	}
	k.Secret = s[1]
	return k, nil
}

// Algorithm returns the TSIG algorithm name the library knows for a BIND
// or RFC name (hmac-sha256, hmac-sha256.), or an error naming it.
func Algorithm(name string) (string, error) {
	switch strings.TrimSuffix(strings.ToLower(name), ".") {
	case "", "hmac-sha256":
		return dns.HmacSHA256, nil
	case "hmac-sha1":
		return dns.HmacSHA1, nil
	case "hmac-sha224":
		return dns.HmacSHA224, nil
	case "hmac-sha384":
		return dns.HmacSHA384, nil
	case "hmac-sha512":
		return dns.HmacSHA512, nil
	case "hmac-md5", "hmac-md5.sig-alg.reg.int":
		return dns.HmacMD5, nil
	}
	return "", fmt.Errorf("dnsreg: unknown TSIG algorithm %q (hmac-sha256, hmac-sha512, hmac-sha384, hmac-sha224, hmac-sha1, hmac-md5)", name)
}
