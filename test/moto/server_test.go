package moto_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/test/moto"
)

const otherAccount = "111122223333"

// TestServer shares one moto server between subtests that do not reset it.
func TestServer(t *testing.T) {
	srv := moto.StartForTest(t)
	ctx := t.Context()

	t.Run("a pre-signed PUT without Content-Type stores the body", func(t *testing.T) {
		// This is how tests play CloudFormation: the function under test PUTs its
		// custom-resource response, with an empty Content-Type, to a pre-signed ResponseURL.
		cfg, err := srv.Config(ctx, "")
		require.NoError(t, err)
		client := s3.NewFromConfig(cfg, moto.PathStyle)
		_, err = client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("cfn-responses")})
		require.NoError(t, err)

		presigned, err := s3.NewPresignClient(client).PresignPutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String("cfn-responses"),
			Key:    aws.String("arn%3Aaws%3Acloudformation/stack/request-1"),
		}, s3.WithPresignExpires(5*time.Minute))
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(presigned.URL, srv.URL()+"/cfn-responses/"), "path-style URL: %s", presigned.URL)

		body := `{"Status":"SUCCESS","PhysicalResourceId":"hook-1","RequestId":"request-1"}`
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, presigned.URL, strings.NewReader(body))
		require.NoError(t, err)
		for k, v := range presigned.SignedHeader {
			if k != "Host" { // net/http sets Host from the URL
				req.Header[k] = v
			}
		}
		require.Empty(t, req.Header.Get("Content-Type"))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		respBody, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", respBody)

		got, err := client.GetObject(ctx, &s3.GetObjectInput{
			Bucket: aws.String("cfn-responses"),
			Key:    aws.String("arn%3Aaws%3Acloudformation/stack/request-1"),
		})
		require.NoError(t, err)
		defer got.Body.Close()
		stored, err := io.ReadAll(got.Body)
		require.NoError(t, err)
		assert.Equal(t, body, string(stored))
	})

	t.Run("accounts are isolated", func(t *testing.T) {
		def, err := srv.Config(ctx, moto.DefaultAccountID)
		require.NoError(t, err)
		other, err := srv.Config(ctx, otherAccount)
		require.NoError(t, err)
		assert.Equal(t, otherAccount, callerAccount(t, other))
		assert.Equal(t, moto.DefaultAccountID, callerAccount(t, def))

		created, err := iam.NewFromConfig(other).CreateRole(ctx, &iam.CreateRoleInput{
			RoleName:                 aws.String("Isolated"),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`),
		})
		require.NoError(t, err)
		assert.Equal(t, "arn:aws:iam::"+otherAccount+":role/Isolated", aws.ToString(created.Role.Arn))

		_, err = iam.NewFromConfig(other).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("Isolated")})
		require.NoError(t, err, "visible in its own account")
		_, err = iam.NewFromConfig(def).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("Isolated")})
		var missing *iamtypes.NoSuchEntityException
		require.ErrorAs(t, err, &missing, "invisible in %s", moto.DefaultAccountID)
	})

	t.Run("AWS managed policies are loaded", func(t *testing.T) {
		cfg, err := srv.Config(ctx, otherAccount)
		require.NoError(t, err)
		out, err := iam.NewFromConfig(cfg).GetPolicy(ctx, &iam.GetPolicyInput{
			PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess"),
		})
		require.NoError(t, err)
		assert.Equal(t, "ReadOnlyAccess", aws.ToString(out.Policy.PolicyName))
	})

	t.Run("invalid account IDs are refused", func(t *testing.T) {
		_, err := srv.Config(ctx, "1234")
		require.ErrorContains(t, err, "not 12 digits")
	})
}

func TestReset(t *testing.T) {
	srv := moto.StartForTest(t)
	ctx := t.Context()
	other, err := srv.Config(ctx, otherAccount)
	require.NoError(t, err)
	client := s3.NewFromConfig(other, moto.PathStyle)
	_, err = client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("before-reset")})
	require.NoError(t, err)

	begin := time.Now()
	require.NoError(t, srv.Reset(ctx))
	t.Logf("reset in %v", time.Since(begin).Round(time.Millisecond))

	list, err := client.ListBuckets(ctx, &s3.ListBucketsInput{})
	require.NoError(t, err)
	assert.Empty(t, list.Buckets)
	assert.Equal(t, otherAccount, callerAccount(t, other),
		"a config made before Reset must still act in its own account, not fall back to the default one")
}

func TestStartWithoutMotoSaysHowToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // neither moto_server nor python3
	_, err := moto.Start(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "pip install -r requirements.txt")
}

func TestCloseStopsTheServer(t *testing.T) {
	srv, err := moto.Start(t.Context())
	require.NoError(t, err)
	require.NoError(t, srv.Close())
	require.NoError(t, srv.Close(), "Close is idempotent")

	err = moto.Ping(context.Background(), srv.URL())
	require.Error(t, err, "nothing listens after Close")
	assert.False(t, errors.Is(err, context.DeadlineExceeded), "refused, not hanging: %v", err)
}

// TestServerDiesWithTheTestProcess runs this test binary again as a helper that
// starts a server and is then killed, so it never calls Close: the server must not outlive it.
func TestServerDiesWithTheTestProcess(t *testing.T) {
	if os.Getenv("MOTO_TEST_HELPER") == "1" {
		srv, err := moto.Start(context.Background())
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("url", srv.URL())
		time.Sleep(time.Minute) // the parent kills us long before
		os.Exit(1)
	}

	helper := exec.Command(os.Args[0], "-test.run=^TestServerDiesWithTheTestProcess$", "-test.count=1")
	helper.Env = append(os.Environ(), "MOTO_TEST_HELPER=1")
	out, err := helper.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, helper.Start())
	t.Cleanup(func() { _ = helper.Process.Kill(); _ = helper.Wait() })
	urls := make(chan string, 1)
	go func() {
		for sc := bufio.NewScanner(out); sc.Scan(); {
			if url, ok := strings.CutPrefix(sc.Text(), "url "); ok {
				urls <- url
			} else {
				t.Log("helper:", sc.Text())
			}
		}
		close(urls)
	}()
	var url string
	select {
	case url = <-urls:
		require.NotEmpty(t, url, "the helper did not start a server")
	case <-time.After(moto.StartTimeout + 5*time.Second):
		t.Fatal("the helper did not report its server")
	}
	require.NoError(t, moto.Ping(context.Background(), url), "the helper's server answers")

	require.NoError(t, helper.Process.Kill())
	_ = helper.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for moto.Ping(context.Background(), url) == nil {
		require.True(t, time.Now().Before(deadline), "the server outlived its test process")
		time.Sleep(50 * time.Millisecond)
	}
}

func callerAccount(t *testing.T, cfg aws.Config) string {
	t.Helper()
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	return aws.ToString(out.Account)
}
