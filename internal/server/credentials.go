package server

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
)

// Credentials are the API's one access key pair.
type Credentials struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	// Generated is true when the server made the pair (so printing the secret tells the
	// operator something they could not know); false when it came from the environment.
	Generated bool `json:"-"`
}

// LogValue keeps the secret out of every log line.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("access_key_id", c.AccessKeyID), slog.String("secret_access_key", "REDACTED"))
}

// Secret implements sigv4.Credentials.
func (c Credentials) Secret(accessKeyID string) (string, bool) {
	if accessKeyID != c.AccessKeyID {
		return "", false
	}
	return c.SecretAccessKey, true
}

// loadOrCreateCredentials reads <dir>/credentials.json, making a new pair the first time.
func loadOrCreateCredentials(dir string) (Credentials, error) {
	path := filepath.Join(dir, "credentials.json")
	var c Credentials
	b, err := os.ReadFile(path)
	if err == nil {
		if err := json.Unmarshal(b, &c); err != nil || c.AccessKeyID == "" || c.SecretAccessKey == "" {
			return c, fmt.Errorf("read credentials %s: malformed file", path)
		}
		c.Generated = true
		return c, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return c, fmt.Errorf("read credentials: %w", err)
	}
	c = Credentials{
		AccessKeyID:     "AKIA" + randomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
		SecretAccessKey: randomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
		Generated:       true,
	}
	b, _ = json.MarshalIndent(c, "", "  ")
	if err := writeFileAtomic(path, b, 0o600); err != nil {
		return c, fmt.Errorf("write credentials: %w", err)
	}
	return c, nil
}

func randomString(n int, alphabet string) string {
	out := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range out {
		k, _ := rand.Int(rand.Reader, max)
		out[i] = alphabet[k.Int64()]
	}
	return string(out)
}

// writeFileAtomic writes via a synced temp file and a rename, so a crash leaves either the
// old file or the new one, never half of one.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
