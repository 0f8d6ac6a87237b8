package sim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The hook function's settings in the backend stack (cdk/backend_hook.go): its timeout (the
// templates' ServiceTimeout, the propagation budget and the response margin), and how long Lambda's
// asynchronous queue keeps an event before it sends it to the dead-letter queue instead (the
// ServiceTimeout: CloudFormation has stopped waiting by then).
const (
	hookTimeout = 400 * time.Second
	maxEventAge = 300 * time.Second
)

// Request is a CloudFormation custom-resource request, shaped as AWS documents it.
type Request struct {
	RequestType           string         `json:"RequestType"`
	ResponseURL           string         `json:"ResponseURL"`
	StackID               string         `json:"StackId"`
	RequestID             string         `json:"RequestId"`
	ResourceType          string         `json:"ResourceType"`
	LogicalResourceID     string         `json:"LogicalResourceId"`
	PhysicalResourceID    string         `json:"PhysicalResourceId,omitempty"`
	ServiceToken          string         `json:"ServiceToken"`
	ResourceProperties    map[string]any `json:"ResourceProperties"`
	OldResourceProperties map[string]any `json:"OldResourceProperties,omitempty"`
}

// Response is what the hook PUT to the ResponseURL.
type Response struct {
	Status             string            `json:"Status"`
	Reason             string            `json:"Reason"`
	PhysicalResourceID string            `json:"PhysicalResourceId"`
	StackID            string            `json:"StackId"`
	RequestID          string            `json:"RequestId"`
	LogicalResourceID  string            `json:"LogicalResourceId"`
	Data               map[string]string `json:"Data"`
}

// Send delivers r as CloudFormation does when the ServiceToken is the vendor's topic: a pre-signed
// S3 PUT as its ResponseURL, wrapped in an SNS notification that invokes the hook asynchronously on
// an idle execution environment (twice at the rate of Config.Duplicates). It returns the first
// answer PUT to the ResponseURL, as soon as it arrives, which is what CloudFormation acts on; the
// invocation goes on with its follow-up work (Settle waits for it). With no answer within the
// resource's ServiceTimeout, or none by the time every invocation has ended, it fails as the
// resource does. r's RequestID and ResponseURL are filled in when empty; with a ResponseURL of its
// own, r is answered from S3 once the invocations have ended.
func (a *AWS) Send(ctx context.Context, r Request) (Response, error) {
	if r.ServiceToken != HookTopic {
		return Response{}, fmt.Errorf("ServiceToken %s: no such topic or function in this simulation (the hook's topic is %s)", r.ServiceToken, HookTopic)
	}
	if r.RequestID == "" {
		r.RequestID = newUUID()
	}
	own := r.ResponseURL != ""
	if !own {
		signed, err := a.presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(ResponseBucket),
			Key: aws.String(r.RequestID)}, s3.WithPresignExpires(2*time.Hour))
		if err != nil {
			return Response{}, fmt.Errorf("pre-signing the ResponseURL: %w", err)
		}
		r.ResponseURL = signed.URL
	}
	payload, err := snsNotification(r, time.Now())
	if err != nil {
		return Response{}, err
	}
	timeout := serviceTimeout(r.ResourceProperties)
	n := a.notifications()
	d := a.responses.begin(r, timeout, n)
	a.notify(d, payload, 0)
	if n > 1 {
		a.notify(d, payload, a.duplicateDelay())
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	select {
	case <-d.answered:
	case <-d.ended:
	case <-deadline.C:
		return Response{}, fmt.Errorf("the %s of %s: no answer within its ServiceTimeout of %s (CloudFormation fails the resource)",
			r.RequestType, r.LogicalResourceID, timeout)
	case <-ctx.Done():
		return Response{}, ctx.Err()
	}
	if res, ok := a.responses.first(d); ok {
		return res, nil
	}
	if own {
		return a.answer(ctx, r.RequestID)
	}
	return Response{}, fmt.Errorf("the %s of %s: the hook ended without answering: %s", r.RequestType, r.LogicalResourceID,
		strings.Join(a.responses.failures(d), "; "))
}

// answer reads the response the hook PUT for requestID.
func (a *AWS) answer(ctx context.Context, requestID string) (Response, error) {
	out, err := a.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(ResponseBucket), Key: aws.String(requestID)})
	if err != nil {
		return Response{}, fmt.Errorf("the hook did not answer request %s: %w", requestID, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return Response{}, err
	}
	var res Response
	if err := json.Unmarshal(b, &res); err != nil {
		return Response{}, fmt.Errorf("the hook's answer %q: %w", b, err)
	}
	if len(b) > 4096 {
		return Response{}, errors.New("the hook's answer is over CloudFormation's 4096 bytes")
	}
	return res, nil
}

// snsNotification wraps r in the SNS event Lambda receives from the hook's topic, published at.
func snsNotification(r Request, at time.Time) ([]byte, error) {
	msg, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"Records": []any{map[string]any{
		"EventSource": "aws:sns", "EventVersion": "1.0",
		"EventSubscriptionArn": HookTopic + ":2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
		"Sns": map[string]any{
			"Type": "Notification", "MessageId": newUUID(), "TopicArn": HookTopic,
			"Subject": "AWS CloudFormation custom resource request", "Message": string(msg),
			"Timestamp": at.UTC().Format("2006-01-02T15:04:05.000Z"), "SignatureVersion": "1", "Signature": "EXAMPLE",
			"SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
			"UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe", "MessageAttributes": map[string]any{},
		},
	}}})
}

// newUUID is a random RFC 4122 version-4 UUID, as CloudFormation's request and stack IDs are.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
