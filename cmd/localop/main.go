// Command localop runs the local OpenID Provider (internal/auth/localop) for local runs, and gets
// a local user's tokens without a browser.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/supportaccess/gateway/internal/auth/localop"
)

const usage = `usage: localop <command> [flags]

commands:
  serve -users FILE [-addr 127.0.0.1:9998] [-client-id ID] [-groups-claim NAME]
        serve the provider until interrupted; prints its issuer and client ID
  token -issuer URL -user NAME [-client-id ID] [-id-token]
        sign NAME in (authorization code + PKCE, the program answering the sign-in form) and
        print the access token (or, with -id-token, the ID token)

environment: LOCALOP_PASSWORD, the password for token (empty for a user without one)`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "localop:", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	flags := flag.NewFlagSet(args[0], flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	clientID := flags.String("client-id", localop.DefaultClientID, "the client ID")
	switch args[0] {
	case "serve":
		users := flags.String("users", "", "the users file (YAML or JSON)")
		addr := flags.String("addr", "127.0.0.1:9998", "loopback address to listen on")
		groupsClaim := flags.String("groups-claim", "", "the claim carrying the groups (default cognito:groups)")
		if err := flags.Parse(args[1:]); err != nil {
			return fmt.Errorf("%w\n%s", err, usage)
		}
		if *users == "" {
			return errors.New("serve: -users is required\n" + usage)
		}
		list, err := localop.LoadUsers(*users)
		if err != nil {
			return err
		}
		s, err := localop.Start(localop.Config{Addr: *addr, Users: list, ClientID: *clientID, GroupsClaim: *groupsClaim})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "issuer %s\nclient %s\n", s.Issuer(), s.ClientID())
		select {
		case <-ctx.Done():
			return s.Close()
		case <-waitErr(s):
			return s.Wait()
		}
	case "token":
		issuer := flags.String("issuer", "", "the provider's issuer URL")
		user := flags.String("user", "", "the username")
		idToken := flags.Bool("id-token", false, "print the ID token instead of the access token")
		if err := flags.Parse(args[1:]); err != nil {
			return fmt.Errorf("%w\n%s", err, usage)
		}
		if *issuer == "" || *user == "" {
			return errors.New("token: -issuer and -user are required\n" + usage)
		}
		tok, err := localop.Login(ctx, *issuer, *clientID, *user, getenv("LOCALOP_PASSWORD"))
		if err != nil {
			return err
		}
		if *idToken {
			id, _ := tok.Extra("id_token").(string)
			fmt.Fprintln(out, id)
			return nil
		}
		fmt.Fprintln(out, tok.AccessToken)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

// waitErr is closed when the server stops on its own.
func waitErr(s *localop.Server) <-chan struct{} {
	c := make(chan struct{})
	go func() { _ = s.Wait(); close(c) }()
	return c
}
