package cfnresource

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	fixtureStack = "arn:aws:cloudformation:us-east-1:111122223333:stack/doit-management-role/5b918d10-cd98-11ea-90d5-0a9cd3354c10"
	bucketURL    = "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/key?X-Amz-Signature=" + signature
)

func TestDecodeFixtures(t *testing.T) {
	tests := map[string]struct {
		requestType RequestType
		requestID   string
		physicalID  string
		oldProps    bool
	}{
		"create": {Create, "2c6f6b7e-6d8e-4a4f-9f0a-3e2b1c0d9e8f", "", false},
		"update": {Update, "8d1a2b3c-4e5f-4a6b-8c7d-9e0f1a2b3c4d", businessID, true},
		"delete": {Delete, "f0e1d2c3-b4a5-4968-8776-a5b4c3d2e1f0", businessID, false},
	}
	for name, tc := range tests {
		for _, via := range []string{"", "sns-"} {
			t.Run(via+name, func(t *testing.T) {
				e, err := Decode(fixture(t, via+name, "", nil))
				require.NoError(t, err)
				assert.True(t, Answerable(e))
				assert.Equal(t, tc.requestType, e.RequestType)
				assert.Equal(t, tc.requestID, e.RequestID)
				assert.Equal(t, tc.physicalID, e.PhysicalResourceID)
				assert.Equal(t, fixtureStack, e.StackID)
				assert.Equal(t, "Hook", e.LogicalResourceID)
				assert.Equal(t, "Custom::Hook", e.ResourceType)
				assert.Equal(t, e.ServiceToken, e.ResourceProperties["ServiceToken"])
				assert.Equal(t, "300", e.ResourceProperties["ServiceTimeout"])
				assert.Equal(t, "2", e.ResourceProperties["TemplateVersion"])
				assert.Equal(t, tc.oldProps, e.OldResourceProperties != nil)
				assert.NoError(t, ResponseHosts{}.Check(e.ResponseURL), "fixtures carry a real response-bucket URL")
			})
		}
	}
}

func TestDecodeDirectAndSNSAgree(t *testing.T) {
	for _, name := range []string{"create", "update", "delete"} {
		direct := fixtureEvent(t, name, bucketURL)
		viaSNS := fixtureEvent(t, "sns-"+name, bucketURL)
		direct.ServiceToken, viaSNS.ServiceToken = "", ""
		delete(direct.ResourceProperties, "ServiceToken")
		delete(viaSNS.ResourceProperties, "ServiceToken")
		delete(direct.OldResourceProperties, "ServiceToken")
		delete(viaSNS.OldResourceProperties, "ServiceToken")
		assert.WithinDuration(t, time.Now(), viaSNS.SNSTimestamp, time.Minute, "the notification's Timestamp is kept")
		assert.True(t, direct.SNSTimestamp.IsZero())
		viaSNS.SNSTimestamp = time.Time{}
		assert.Equal(t, direct, viaSNS, name)
	}
}

func TestDecodeErrors(t *testing.T) {
	valid := `"RequestType":"Create","ResponseURL":"` + bucketURL + `","StackId":"arn:s","RequestId":"r-1",` +
		`"LogicalResourceId":"Hook","ResourceType":"Custom::Hook","ResourceProperties":{"ServiceToken":"arn:t"}`
	sns := func(records string) string { return `{"Records":[` + records + `]}` }
	record := func(message string) string {
		return `{"EventSource":"aws:sns","Sns":{"Type":"Notification","Message":` + message + `}}`
	}
	tests := map[string]struct {
		payload    string
		want       string
		answerable bool
	}{
		"malformed JSON":         {`{"RequestType":`, "decoding the request: the payload is not valid JSON (at byte 15: unexpected end of JSON input)", false},
		"empty payload":          {``, "the payload is not valid JSON", false},
		"not an object":          {`["Create"]`, "the payload is a JSON array, not an object", false},
		"null":                   {`null`, "the payload is JSON null, not an object", false},
		"SNS zero records":       {sns(``), "decoding the SNS notification: 0 records, want exactly 1", false},
		"SNS two records":        {sns(record(`"{}"`) + "," + record(`"{}"`)), "2 records, want exactly 1", false},
		"SNS Records not a list": {`{"Records":{"EventSource":"aws:sns"}}`, "field Records is a JSON object, want an array", false},
		"SNS Records null":       {`{"Records":null}`, "field Records is a JSON null, want an array", false},
		"SNS record not aws:sns": {sns(`{"EventSource":"aws:sqs","Sns":{"Message":"{}"}}`), `the record's EventSource is "aws:sqs", want "aws:sns"`, false},
		"SQS-shaped record":      {sns(`{"eventSource":"aws:sqs","body":"{}"}`), `the record's EventSource is "", want "aws:sns"`, false},
		"SNS record not object":  {sns(`"x"`), "the record is a JSON string, not an object", false},
		"SNS without Sns":        {sns(`{"EventSource":"aws:sns"}`), "the record has no Sns field", false},
		"SNS message missing":    {sns(`{"EventSource":"aws:sns","Sns":{}}`), "the SNS message is empty", false},
		"SNS message not string": {sns(record(`{}`)), "Message is a JSON object, want a string", false},
		"SNS message not JSON":   {sns(record(`"hello"`)), "decoding the SNS message: it is not valid JSON", false},
		"SNS message an array":   {sns(record(`"[1]"`)), "decoding the SNS message: it is a JSON array, not an object", false},
		"SNS message not an event": {sns(record(`"{\"Hello\":\"world\"}"`)),
			"invalid custom-resource request: missing RequestType, ResponseURL, StackId, RequestId, ResourceType, LogicalResourceId, ResourceProperties", false},
		"missing fields, answerable": {`{"RequestType":"Create","ResponseURL":"` + bucketURL + `","StackId":"arn:s","RequestId":"r-1","LogicalResourceId":"Hook"}`,
			"invalid custom-resource request: missing ResourceType, ResourceProperties", true},
		"Delete without PhysicalResourceId": {`{` + strings.Replace(valid, "Create", "Delete", 1) + `}`, "missing PhysicalResourceId", true},
		"Update without PhysicalResourceId": {`{` + strings.Replace(valid, "Create", "Update", 1) + `}`, "missing PhysicalResourceId", true},
		"ResourceProperties a string": {`{` + strings.Replace(valid, `{"ServiceToken":"arn:t"}`, `"x"`, 1) + `}`,
			"invalid custom-resource request: ResourceProperties is a JSON string, want an object", true},
		"OldResourceProperties a list": {`{` + valid + `,"OldResourceProperties":[]}`, "OldResourceProperties is a JSON array, want an object", true},
		"StackId a number":             {`{` + strings.Replace(valid, `"arn:s"`, `7`, 1) + `}`, "StackId is a JSON number, want a string", false},
		"several problems at once": {`{"RequestType":"Create","ResponseURL":"` + bucketURL + `","StackId":"arn:s","RequestId":"r-1","LogicalResourceId":"Hook","ResourceType":true,"ResourceProperties":3}`,
			"invalid custom-resource request: ResourceType is a JSON boolean, want a string; ResourceProperties is a JSON number, want an object", true},
		"keys are case-sensitive": {`{` + strings.Replace(valid, `"RequestType"`, `"requestType"`, 1) + `}`, "missing RequestType", true},
		"unsupported RequestType": {`{` + strings.Replace(valid, `"Create"`, `"Replace"`, 1) + `}`, `unsupported RequestType "Replace"`, true},
		"long RequestType is clipped": {`{` + strings.Replace(valid, `"Create"`, `"`+strings.Repeat("R", 500)+`"`, 1) + `}`,
			`unsupported RequestType "` + strings.Repeat("R", 64) + `"…`, true},
		"missing ResponseURL": {`{` + strings.Replace(valid, bucketURL, "", 1) + `}`, "missing ResponseURL", false},
		"relative ResponseURL": {`{` + strings.Replace(valid, bucketURL, "/key?X-Amz-Signature="+signature, 1) + `}`,
			"ResponseURL is not an absolute http(s) URL", false},
		"ftp ResponseURL": {`{` + strings.Replace(valid, "https://", "ftp://", 1) + `}`, "ResponseURL is not an absolute http(s) URL", false},
		"PhysicalResourceId over 1 KB": {`{` + valid + `,"PhysicalResourceId":"` + strings.Repeat("p", 1025) + `"}`,
			"PhysicalResourceId is 1025 bytes, over the 1024-byte limit", true},
		"identifiers too long to answer": {`{` + strings.Replace(valid, `"arn:s"`, `"`+strings.Repeat("s", 2000)+`"`, 1) + `}`,
			"StackId, RequestId and LogicalResourceId are too long to answer within 4096 bytes", false},
		"payload over 256 KiB": {`{` + valid + `,"Padding":"` + strings.Repeat("x", 256<<10) + `"}`,
			"bytes, over the 262144-byte limit", true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, err := Decode([]byte(tc.payload))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, tc.answerable, Answerable(e), "Answerable")
			assert.NotContains(t, err.Error(), signature, "errors never hold the ResponseURL")
		})
	}
}

func TestDecodeOversizedSNSNotification(t *testing.T) {
	payload := fixture(t, "sns-create", bucketURL, func(event map[string]any) {
		event["ResourceProperties"].(map[string]any)["Padding"] = strings.Repeat("x", 256<<10)
	})
	e, err := Decode(payload)
	require.ErrorContains(t, err, "-byte limit")
	assert.True(t, Answerable(e), "an oversized request is still answered FAILED")
}

func TestAnswerable(t *testing.T) {
	ok := Event{ResponseURL: bucketURL, StackID: "arn:s", RequestID: "r-1", LogicalResourceID: "Hook"}
	tests := map[string]struct {
		edit func(e *Event)
		want bool
	}{
		"complete":                     {func(*Event) {}, true},
		"no request type needed":       {func(e *Event) { e.RequestType = "" }, true},
		"foreign host is checkable":    {func(e *Event) { e.ResponseURL = "https://evil.example.com/x" }, true},
		"no ResponseURL":               {func(e *Event) { e.ResponseURL = "" }, false},
		"ResponseURL not absolute":     {func(e *Event) { e.ResponseURL = "key?sig" }, false},
		"ResponseURL without host":     {func(e *Event) { e.ResponseURL = "https:///key" }, false},
		"ResponseURL does not parse":   {func(e *Event) { e.ResponseURL = "https://a b/%zz" }, false},
		"no StackId":                   {func(e *Event) { e.StackID = "" }, false},
		"no RequestId":                 {func(e *Event) { e.RequestID = "" }, false},
		"no LogicalResourceId":         {func(e *Event) { e.LogicalResourceID = "" }, false},
		"LogicalResourceId too long":   {func(e *Event) { e.LogicalResourceID = strings.Repeat("L", 2000) }, false},
		"control characters escape 6×": {func(e *Event) { e.RequestID = strings.Repeat("\x01", 400) }, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := ok
			tc.edit(&e)
			assert.Equal(t, tc.want, Answerable(e))
		})
	}
}
