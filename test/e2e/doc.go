// Package e2e runs the product's pieces together against real local stand-ins: moto server for
// AWS, the real Lambda bootstrap binary behind the Lambda Runtime API harness, and the committed
// templates. Nothing here is mocked.
package e2e
