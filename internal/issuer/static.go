package issuer

import (
	"context"
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
		docs, err := i.Documents(ctx, account)
		if err != nil {
			return fmt.Errorf("rendering account %s: %w", account, err)
		}
		for _, d := range docs {
			p := filepath.Join(dir, filepath.FromSlash(d.Path))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return fmt.Errorf("creating %s: %w", filepath.Dir(p), err)
			}
			if err := os.WriteFile(p, d.Body, 0o644); err != nil {
				return fmt.Errorf("writing %s: %w", p, err)
			}
		}
	}
	return nil
}
