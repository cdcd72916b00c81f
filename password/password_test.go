package password_test

import (
	"strings"
	"testing"

	"github.com/parleychat/parley/password"
)

func TestHashVerify(t *testing.T) {
	h := password.Fast
	hash, err := h.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("got hash %q, want PHC argon2id format", hash)
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{"correct horse", true}, {"correct horsE", false}, {"", false}} {
		got, err := h.Verify(hash, tc.pw)
		if err != nil || got != tc.want {
			t.Errorf("Verify(%q) = %v, %v; want %v, nil", tc.pw, got, err, tc.want)
		}
	}
	// A hash made with other parameters still verifies: cost can be raised later.
	if ok, err := password.Default.Verify(hash, "correct horse"); err != nil || !ok {
		t.Errorf("Default.Verify(Fast hash) = %v, %v; want true, nil", ok, err)
	}
	again, _ := h.Hash("correct horse")
	if again == hash {
		t.Error("two hashes of one password are equal: salt is not random")
	}
}

func TestVerifyMalformed(t *testing.T) {
	for _, hash := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$AAAA$AAAA", "$argon2id$v=18$m=64,t=1,p=1$AAAA$AAAA",
		"$argon2id$v=19$m=0,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=64,t=1,p=1$!!$AAAA", "$argon2id$v=19$m=64,t=1,p=1$AAAA$"} {
		if ok, err := password.Fast.Verify(hash, "x"); err == nil || ok {
			t.Errorf("Verify(%q) = %v, %v; want false, error", hash, ok, err)
		}
	}
}
