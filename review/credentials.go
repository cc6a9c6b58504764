package review

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Secret kinds stored with a reader.
const (
	KindToken    = "token"
	KindPassword = "password"
)

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 10

var readerNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// ValidReaderName reports whether name can be a reader account name.
func ValidReaderName(name string) bool { return readerNamePattern.MatchString(name) }

// NewToken returns a random 32-byte token, base64url without padding.
func NewToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// HashToken is the sha256 of a token, hex: tokens carry 256 bits of entropy,
// so a fast hash is enough and lookups by hash need no per-row salt.
func HashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// HashPassword hashes a password with bcrypt.
func HashPassword(pw string) (string, error) {
	if len(pw) < MinPasswordLen {
		return "", fmt.Errorf("password must have at least %d characters", MinPasswordLen)
	}
	if len(pw) > 72 {
		return "", errors.New("password must have at most 72 bytes (bcrypt's limit)")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}

// verifySecret reports whether secret signs in as rd (found is false for an
// unknown name). It does the same work for every outcome, exactly one bcrypt
// verification, so that the answer time does not tell an unknown name from
// a known one, nor a token account from a password account: token accounts
// (a sha256 compare would answer in microseconds) and unknown names verify
// against dummyHash, password accounts against their own hash (made at the
// same cost).
func verifySecret(rd Reader, found bool, secret string) bool {
	if found && rd.SecretKind == KindPassword {
		return bcrypt.CompareHashAndPassword([]byte(rd.SecretHash), []byte(secret)) == nil
	}
	_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(secret))
	if found && rd.SecretKind == KindToken {
		return subtle.ConstantTimeCompare([]byte(HashToken(secret)), []byte(rd.SecretHash)) == 1
	}
	return false
}

// dummyHash is what verifySecret compares against when no password hash
// applies. NewServer makes it, so no sign-in pays for generating it.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("otoseg-no-such-reader"), bcrypt.DefaultCost)
	return h
})

// AddReader creates an account. With password empty it creates a sign-in
// token and returns it (it is stored only as a hash, so this is the one
// time it can be shown); otherwise it stores the bcrypt hash of password.
func AddReader(ctx context.Context, st *Store, name string, admin bool, password string) (token string, err error) {
	if !ValidReaderName(name) {
		return "", fmt.Errorf("reader name %q: use 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit", name)
	}
	kind, hash, token, err := newSecret(password)
	if err != nil {
		return "", err
	}
	if _, err := st.AddReader(ctx, name, admin, kind, hash, time.Now()); err != nil {
		return "", err
	}
	return token, nil
}

// ResetReader replaces a reader's token or password and signs it out
// everywhere; it returns the new token when password is empty.
func ResetReader(ctx context.Context, st *Store, name, password string) (token string, err error) {
	kind, hash, token, err := newSecret(password)
	if err != nil {
		return "", err
	}
	if err := st.SetSecret(ctx, name, kind, hash); err != nil {
		return "", err
	}
	return token, nil
}

func newSecret(password string) (kind, hash, token string, err error) {
	if password == "" {
		token = NewToken()
		return KindToken, HashToken(token), token, nil
	}
	hash, err = HashPassword(password)
	return KindPassword, hash, "", err
}
