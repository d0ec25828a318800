package binding

import (
	"net/netip"
	"reflect"
	"testing"
)

// TestEqualBindingsCoversAddresses is TestEqualBindingsCoversEveryField
// for the fields of Addresses.
func TestEqualBindingsCoversAddresses(t *testing.T) {
	base := Binding{Name: "tap0", Indev: "tap0", MAC: []byte{2, 0, 0, 0, 0, 1}}
	typ := reflect.TypeOf(base.Addresses)
	for i := 0; i < typ.NumField(); i++ {
		changed := base
		f := reflect.ValueOf(&changed.Addresses).Elem().Field(i)
		switch v := f.Interface().(type) {
		case []netip.Addr:
			f.Set(reflect.ValueOf(append(v, mustAddr("2001:db8::1"))))
		case []netip.Prefix:
			f.Set(reflect.ValueOf(append(v, mustPrefix("2001:db8::/64"))))
		case netip.Prefix:
			f.Set(reflect.ValueOf(mustPrefix("2001:db8::/64")))
		default:
			t.Fatalf("field %s of type %T: teach this test and Addresses.Equal about it", typ.Field(i).Name, v)
		}
		if equalBindings(&base, &changed) {
			t.Errorf("equalBindings ignores a change of %s", typ.Field(i).Name)
		}
	}
}
