// Package password implements chat.PasswordHasher with argon2id, in the PHC
// string format ($argon2id$v=19$m=...,t=...,p=...$salt$hash) so parameters can
// be raised later without breaking stored hashes. Imported by cmd/parley and
// tests only.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/parleychat/parley/chat"
)

// Argon2id hashes with the given cost. The zero value is not usable; use
// Default or Fast.
type Argon2id struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

var _ chat.PasswordHasher = Argon2id{}

// Default follows OWASP's minimum for argon2id: 19 MiB, 2 passes, 1 lane.
var Default = Argon2id{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

// Fast is for tests only: it keeps the algorithm and the format but costs
// little.
var Fast = Argon2id{MemoryKiB: 64, Time: 1, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
)

var b64 = base64.RawStdEncoding

// Hash returns the PHC string of a new random salt and the password's key.
func (a Argon2id) Hash(password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, a.Time, a.MemoryKiB, a.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, a.MemoryKiB, a.Time, a.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var errMalformed = errors.New("password: malformed argon2id hash")

// Verify recomputes the key with the parameters stored in hash, so hashes
// made with other costs still verify.
func (Argon2id) Verify(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, errMalformed
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errMalformed
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 {
		return false, errMalformed
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, errMalformed
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errMalformed
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
