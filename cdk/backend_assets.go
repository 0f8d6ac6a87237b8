package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// What builds each asset, for the error that says it is missing.
var assetBuilders = map[string]string{
	"hook": "make build (lambdas/hook)",
	"api":  "the API Lambda's build (lambdas/api, GOOS=linux GOARCH=arm64 -tags lambda.norpc, as make build builds the hook)",
}

// standInBootstrap is what a stand-in asset holds: a template synthesized with it lints like the
// real one (only the asset's hash differs) but must never be deployed, and this says so if run.
const standInBootstrap = "#!/bin/sh\necho 'stand-in bootstrap: this asset was synthesized for linting, never deploy it' >&2\nexit 1\n"

// stageAssets checks that each Lambda asset directory holds a bootstrap. With standIn, a missing one
// is replaced by a temporary directory holding standInBootstrap (and said so on stderr); without,
// it is an error naming the build. cleanup removes the stand-ins; call it after synthesis.
func stageAssets(b *BackendConfig, standIn bool) (cleanup func(), err error) {
	var temps []string
	cleanup = func() {
		for _, d := range temps {
			os.RemoveAll(d)
		}
	}
	for name, dir := range map[string]*string{"hook": &b.HookAsset, "api": &b.APIAsset} {
		_, err := os.Stat(filepath.Join(*dir, "bootstrap"))
		if err == nil {
			continue
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return cleanup, fmt.Errorf("the %s Lambda's asset: %w", name, err)
		}
		if !standIn {
			return cleanup, fmt.Errorf("the %s Lambda's asset %s has no bootstrap: run %s first",
				name, filepath.Join(*dir, "bootstrap"), assetBuilders[name])
		}
		temp, err := StandInAsset()
		if err != nil {
			return cleanup, err
		}
		temps = append(temps, temp)
		fmt.Fprintf(os.Stderr, "cdk: %s is not built; a stand-in is synthesized in its place (for linting only)\n",
			filepath.Join(*dir, "bootstrap"))
		*dir = temp
	}
	return cleanup, nil
}

// StandInAsset makes a temporary directory holding a stand-in bootstrap, and returns it.
func StandInAsset() (string, error) {
	dir, err := os.MkdirTemp("", "support-gateway-stand-in-")
	if err != nil {
		return "", fmt.Errorf("making a stand-in asset: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte(standInBootstrap), 0o755); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("making a stand-in asset: %w", err)
	}
	return dir, nil
}
