package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/jsii-runtime-go"
)

func main() {
	export := flag.String("export", "", "also write the published templates under this directory (the repository root)")
	backendTemplate := flag.String("backend-template", "", "also synthesize the backend stack and write its template to this file (for linting)")
	standIn := flag.Bool("stand-in-missing-assets", false, "synthesize the backend with an empty stand-in for a Lambda bootstrap that is not built (for linting only)")
	flag.Parse()
	// The cdk CLI runs the app with CDK_OUTDIR set: then the backend stack is part of the app, so
	// `cdk deploy support-gateway-backend` finds it.
	underCLI := os.Getenv("CDK_OUTDIR") != ""
	if err := run(*export, *backendTemplate, underCLI || *backendTemplate != "", *standIn); err != nil {
		fmt.Fprintln(os.Stderr, "cdk:", err)
		os.Exit(1)
	}
}

func run(exportDir, backendTemplate string, withBackend, standIn bool) error {
	defer jsii.Close()
	context, err := readContext("cdk.json")
	if err != nil {
		return err
	}
	// The cdk CLI passes cdk.json's context and every -c key=value in CDK_CONTEXT_JSON.
	if cli := os.Getenv("CDK_CONTEXT_JSON"); cli != "" {
		var extra map[string]any
		if err := json.Unmarshal([]byte(cli), &extra); err != nil {
			return fmt.Errorf("parsing CDK_CONTEXT_JSON: %w", err)
		}
		for k, v := range extra {
			context[k] = v
		}
	}
	cfg, err := ConfigFromContext(context)
	if err != nil {
		return err
	}
	app := NewApp(cfg, context, os.Getenv("CDK_OUTDIR"))
	if withBackend {
		b, err := BackendConfigFromContext(context)
		if err != nil {
			return err
		}
		cleanup, err := stageAssets(&b, standIn)
		defer cleanup()
		if err != nil {
			return err
		}
		NewBackendStack(app, BackendStackName, cfg, b)
	}
	assembly := app.Synth(nil)
	if backendTemplate != "" {
		b, err := os.ReadFile(*assembly.GetStackArtifact(jsii.String(BackendStackName)).TemplateFullPath())
		if err != nil {
			return fmt.Errorf("reading the synthesized backend template: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(backendTemplate), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(backendTemplate, b, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", backendTemplate, err)
		}
		fmt.Println("wrote", backendTemplate)
	}
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
