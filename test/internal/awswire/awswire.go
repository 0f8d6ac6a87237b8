// Package awswire encodes AWS error responses as the test front ends (test/awscheck,
// test/faultproxy) return them, in the services' own wire formats, so the SDK parses them as it
// parses AWS's.
package awswire

import "encoding/xml"

// QueryError is the error document of a query-protocol service (IAM, STS): ns is the service's
// namespace (https://<service>.amazonaws.com/doc/<version>/), status the HTTP status (5xx: a
// Receiver fault, else Sender).
//
//	<ErrorResponse xmlns="…"><Error><Type>Sender</Type><Code>…</Code><Message>…</Message></Error><RequestId>…</RequestId></ErrorResponse>
func QueryError(ns string, status int, code, message, requestID string) []byte {
	type errorResponse struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		NS        string   `xml:"xmlns,attr"`
		Type      string   `xml:"Error>Type"`
		Code      string   `xml:"Error>Code"`
		Message   string   `xml:"Error>Message"`
		RequestID string   `xml:"RequestId"`
	}
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	return Document(errorResponse{NS: ns, Type: typ, Code: code, Message: message, RequestID: requestID})
}

// Document is v marshalled as an XML document (with the XML header). v must be a fixed type of
// strings, which always marshals: anything else panics.
func Document(v any) []byte {
	b, err := xml.Marshal(v)
	if err != nil {
		panic(err)
	}
	return append([]byte(xml.Header), b...)
}
