package issuer

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// RenderStatic writes, for each issuer host and account, the files Handler would serve, laid out as
// their URLs: dir/<host>/accounts/<account>/.well-known/{openid-configuration,jwks.json}. The tree
// can be published to S3 behind CloudFront (Content-Type application/json on both). Every account
// must be onboarded and not offboarded.
func (i *Issuer) RenderStatic(ctx context.Context, dir string, accounts []string) error {
	for _, account := range accounts {
		set, err := i.JWKS(ctx, account)
		if err != nil {
			return fmt.Errorf("rendering account %s: %w", account, err)
		}
		for host, name := range i.vendor.IssuerHosts {
			d, err := i.Discovery(account, host)
			if err != nil {
				return err
			}
			base := filepath.Join(dir, name, "accounts", account)
			if err := writeJSON(filepath.Join(base, filepath.FromSlash(discoveryPath)), d); err != nil {
				return err
			}
			if err := writeJSON(filepath.Join(base, filepath.FromSlash(jwksPath)), set); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeJSON(path string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	if err := os.WriteFile(path, body, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
