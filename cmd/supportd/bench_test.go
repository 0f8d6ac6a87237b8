package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/auth/localop"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/test/moto"
)

// maxClients is the most clients BenchmarkServerSession runs at once.
const maxClients = 16

// BenchmarkServerSession is what an engineer waits for, end to end over HTTP: a request, the
// customer's approval and the credentials (a token minted with the account's KMS key, STS
// AssumeRoleWithWebIdentity, the audit writes), with 1 and with 16 clients at once, each its own
// engineer. It reports the p50 and p99 latency of the whole sequence, sessions per second, and the
// process's resident memory after the run (VmRSS; the server runs in the benchmark's process, so
// this is the server plus the clients). One op is one session per client (b.N*clients sessions
// in all, each client starting its next as soon as its last is done), so that 16 clients have
// work for all of them however small b.N is: ns/op is per round, sessions/s is the throughput.
// Each run is short (about a second); -benchtime=10s gives p99 more sessions to stand on.
//
// It runs on the serial moto server (StartSerial), the same one the race test needs. moto_server,
// the threaded one, cannot carry 16 clients: a DynamoDB transaction there copies the whole table
// while other requests write to it, and fails with a 500 ("dictionary changed size during
// iteration") often enough that the SDK's three attempts run out and sessions fail. The price is
// that moto answers one AWS call at a time, so with 16 clients sessions/s is bounded by moto's one
// thread (as it nearly is on moto_server too, a Python process under one interpreter lock); p50 and
// p99 then show how the server shares that among its clients. moto copies a table for each
// transaction, so every run starts on an empty broker table. Figures are the server's and moto's
// together, on the same machine: compare them with each other, not with AWS.
func BenchmarkServerSession(b *testing.B) {
	users := []localop.User{{Username: "bob", Email: "bob@acme.example", Password: password, Groups: []string{"tenant:acme"}}}
	for i := range maxClients {
		users = append(users, localop.User{Username: fmt.Sprintf("eng%d", i), Email: fmt.Sprintf("eng%d@doit.com", i),
			Password: password, Groups: []string{engineerGroup}})
	}
	s := startServer(b, moto.StartSerialForTest(b), serverOptions{users: users, issuer: true})
	s.onboard(customerAccount, "acme")
	customer := s.token("bob")
	engineers := make([]string, maxClients)
	for i := range engineers {
		engineers[i] = s.token(fmt.Sprintf("eng%d", i))
	}
	// one session before the clock runs: the first mint and STS call pay for moto's lazy start-up
	_, err := s.session(b.Context(), engineers[0], customer, "SUP-WARM")
	require.NoError(b, err)

	for _, clients := range []int{1, maxClients} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			s.emptyBrokerTable()
			var next atomic.Int64
			latencies := make([][]time.Duration, clients)
			errs := make([]error, clients)
			var wg sync.WaitGroup
			b.ResetTimer()
			begin := time.Now()
			for c := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := next.Add(1); n <= int64(b.N*clients); n = next.Add(1) {
						took, err := s.session(b.Context(), engineers[c], customer, fmt.Sprintf("SUP-%d", n))
						if err != nil {
							errs[c] = err
							return
						}
						latencies[c] = append(latencies[c], took)
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(begin)
			b.StopTimer()
			for _, err := range errs {
				require.NoError(b, err)
			}
			all := slices.Concat(latencies...)
			slices.Sort(all)
			pct := func(p float64) float64 {
				return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(float64(len(all))/elapsed.Seconds(), "sessions/s")
			if rss, err := residentMB(); err == nil {
				b.ReportMetric(rss, "rss-MB")
			} else if runtime.GOOS == "linux" {
				b.Fatal(err)
			}
		})
	}
}

// session runs request → approve → credentials for engineer (a token) and returns how long it took.
func (s *server) session(ctx context.Context, engineer, customer, ticket string) (time.Duration, error) {
	begin := time.Now()
	a, err := s.do(ctx, http.MethodPost, "/v1/requests", engineer,
		`{"account":"`+customerAccount+`","ticket":"`+ticket+`","justification":"benchmark","duration":"30m"}`)
	if err != nil {
		return 0, err
	}
	if a.status != http.StatusCreated {
		return 0, fmt.Errorf("request: %d %s", a.status, a.body)
	}
	var r broker.Request
	if err := json.Unmarshal([]byte(a.body), &r); err != nil {
		return 0, fmt.Errorf("request: %w", err)
	}
	for _, step := range []struct{ action, bearer string }{{"approve", customer}, {"credentials", engineer}} {
		a, err := s.do(ctx, http.MethodPost, "/v1/requests/"+r.ID+"/"+step.action, step.bearer, "")
		if err != nil {
			return 0, err
		}
		if a.status != http.StatusOK {
			return 0, fmt.Errorf("%s: %d %s", step.action, a.status, a.body)
		}
	}
	return time.Since(begin), nil
}

// residentMB is this process's resident set size (VmRSS) in MB.
func residentMB() (float64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/self/status: VmRSS %q: %w", v, err)
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("/proc/self/status: no VmRSS")
}
