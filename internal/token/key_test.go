package token_test

import (
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/footlight/footlight/internal/token"
)

func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys", "signing.pem") // parent does not exist yet

	first, err := token.LoadOrCreateKey(path)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if first.Curve != elliptic.P384() {
		t.Errorf("curve = %s, want P-384", first.Curve.Params().Name)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("mode = %o, want 600", perm)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("file is not a PEM PRIVATE KEY")
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		t.Errorf("not PKCS#8: %v", err)
	}

	second, err := token.LoadOrCreateKey(path)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if !first.Equal(second) {
		t.Error("second call returned a different key")
	}
	if token.NewIssuer(first).KeyID() != token.NewIssuer(second).KeyID() {
		t.Error("kid changed across a reload")
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key (temp file left behind?)", len(entries))
	}
}

func TestLoadOrCreateKeyRefusesBadFiles(t *testing.T) {
	p256, err := x509.MarshalPKCS8PrivateKey(newKey(t, elliptic.P256()))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data string
	}{
		{"empty", ""},
		{"garbage", "not a key"},
		{"wrong block type", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: p256}))},
		{"P-256", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p256}))},
		{"truncated DER", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p256[:20]}))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "signing.pem")
			if err := os.WriteFile(path, []byte(tt.data), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := token.LoadOrCreateKey(path); err == nil {
				t.Fatal("accepted a bad key file")
			}
			// The bad file must be left for a human, not replaced.
			after, err := os.ReadFile(path)
			if err != nil || string(after) != tt.data {
				t.Error("key file was modified")
			}
		})
	}
}

func TestLoadOrCreateKeyUnwritableDir(t *testing.T) {
	if os.Geteuid() == 0 {
		// root ignores directory permissions; use a path under a file instead.
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := token.LoadOrCreateKey(filepath.Join(file, "signing.pem")); err == nil {
			t.Fatal("created a key under a regular file")
		}
		return
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	if _, err := token.LoadOrCreateKey(filepath.Join(dir, "signing.pem")); err == nil {
		t.Fatal("created a key in a read-only directory")
	}
}

func TestParsePublicKey(t *testing.T) {
	p384 := publicPEM(t, &newKey(t, elliptic.P384()).PublicKey)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(newKey(t, elliptic.P384()))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pem  string
		ok   bool
	}{
		{"P-384", p384, true},
		{"CRLF line endings", strings.ReplaceAll(p384, "\n", "\r\n"), true},
		{"surrounding whitespace", "\n  " + p384 + "\n\n", true},
		{"no trailing newline", strings.TrimSuffix(p384, "\n"), true},
		{"P-256", publicPEM(t, &newKey(t, elliptic.P256()).PublicKey), false},
		{"P-521", publicPEM(t, &newKey(t, elliptic.P521()).PublicKey), false},
		{"RSA", publicPEM(t, &rsaKey.PublicKey), false},
		{"private key", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})), false},
		{"private DER labelled public", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: privDER})), false},
		{"two keys", p384 + p384, false},
		{"garbage", "hello world", false},
		{"empty", "", false},
		{"bare base64", strings.Join(strings.Split(p384, "\n")[1:3], ""), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub, err := token.ParsePublicKey(tt.pem)
			if tt.ok {
				if err != nil || pub == nil {
					t.Fatalf("ParsePublicKey: %v", err)
				}
				return
			}
			if !errors.Is(err, token.ErrKeyType) {
				t.Fatalf("err = %v, want ErrKeyType", err)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	key := newKey(t, elliptic.P384())
	fp := token.Fingerprint(&key.PublicKey)
	if len(fp) != 47 || !regexp.MustCompile(`^([0-9a-f]{2}:){15}[0-9a-f]{2}$`).MatchString(fp) {
		t.Fatalf("fingerprint %q is not 16 colon-separated hex pairs", fp)
	}
	parsed, err := token.ParsePublicKey(publicPEM(t, &key.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if again := token.Fingerprint(parsed); again != fp {
		t.Errorf("fingerprint not stable: %q then %q", fp, again)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(der)
	if want := strings.Join(regexp.MustCompile(`..`).FindAllString(hex.EncodeToString(sum[:]), -1), ":"); fp != want {
		t.Errorf("fingerprint = %q, want MD5 of PKIX DER %q", fp, want)
	}
	if other := token.Fingerprint(&newKey(t, elliptic.P384()).PublicKey); other == fp {
		t.Error("different keys share a fingerprint")
	}
}
