package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/jsii-runtime-go"
)

func main() {
	export := flag.String("export", "", "also write the published templates under this directory (the repository root)")
	flag.Parse()
	if err := run(*export); err != nil {
		fmt.Fprintln(os.Stderr, "cdk:", err)
		os.Exit(1)
	}
}

func run(exportDir string) error {
	defer jsii.Close()
	context, err := readContext("cdk.json")
	if err != nil {
		return err
	}
	cfg, err := ConfigFromContext(context)
	if err != nil {
		return err
	}
	assembly := NewApp(cfg, context, os.Getenv("CDK_OUTDIR")).Synth(nil)
	if exportDir == "" {
		return nil
	}
	files, err := Export(assembly)
	if err != nil {
		return err
	}
	for _, t := range Templates {
		path := filepath.Join(exportDir, t.path)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, files[t.path], 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		fmt.Println("wrote", path)
	}
	return nil
}
