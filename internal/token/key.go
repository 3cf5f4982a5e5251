package token

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// LoadOrCreateKey returns the server's signing key kept at path (PEM, PKCS#8
// "PRIVATE KEY", mode 0600), making a new P-384 key the first time. Writes
// atomically (temp file, fsync, rename, fsync dir) so a crash never leaves a
// half-written key.
//
// An unreadable or corrupt key file is an error, never a reason to make a new
// key: replacing the key would silently invalidate every outstanding token.
func LoadOrCreateKey(path string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		key, err := parsePrivateKey(data)
		if err != nil {
			return nil, fmt.Errorf("token: signing key %s: %w", path, err)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("token: read signing key: %w", err)
	}
	return createKey(path)
}

func createKey(path string) (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("token: generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("token: encode signing key: %w", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := writeFileAtomic(path, data); err != nil {
		return nil, fmt.Errorf("token: save signing key: %w", err)
	}
	return key, nil
}

func parsePrivateKey(data []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New(`not a PEM "PRIVATE KEY" block`)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not PKCS#8: %w", err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P384() {
		return nil, errors.New("not an ECDSA P-384 key")
	}
	return key, nil
}

// writeFileAtomic makes path hold data or stay as it was: the data is synced
// in a private temp file beside path, renamed over it, and the directory is
// synced so the rename itself survives a crash. The server is the only writer
// of its key file, so last-rename-wins is not a concern.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// CreateTemp already uses 0600; say so explicitly since it is the point.
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ParsePublicKey parses ImportPublicKey's publicKeyMaterial (PEM "PUBLIC KEY",
// PKIX) and accepts only ECDSA P-384, the only curve IVS accepts for ES384.
func ParsePublicKey(pemText string) (*ecdsa.PublicKey, error) {
	// Pasted key material often arrives indented or padded with blank
	// lines, which pem.Decode would not see past.
	block, rest := pem.Decode([]byte(strings.TrimSpace(pemText)))
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrKeyType)
	}
	if block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("%w: PEM block is not a PUBLIC KEY", ErrKeyType)
	}
	// A second block would leave it ambiguous which key was meant.
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: unexpected data after the PEM block", ErrKeyType)
	}
	parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: not PKIX", ErrKeyType)
	}
	pub, ok := parsed.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: not an ECDSA key", ErrKeyType)
	}
	if pub.Curve != elliptic.P384() {
		return nil, fmt.Errorf("%w: curve is not P-384", ErrKeyType)
	}
	return pub, nil
}

// Fingerprint is the short identifier shown by GetPublicKey: colon-separated
// lowercase hex of the MD5 of the key's PKIX DER (16 pairs, like "12:a3:44:...").
// MD5 is fine here: it names a key for humans, it does not protect anything.
func Fingerprint(pub *ecdsa.PublicKey) string {
	sum := md5.Sum(publicDER(pub))
	out := make([]byte, 0, len(sum)*3-1)
	for i, b := range sum {
		if i > 0 {
			out = append(out, ':')
		}
		out = hex.AppendEncode(out, []byte{b})
	}
	return string(out)
}

// publicDER is the PKIX DER of pub. Marshalling fails only for curves Go
// does not support, which no key reaching this package can have.
func publicDER(pub *ecdsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic("token: marshal public key: " + err.Error())
	}
	return der
}
