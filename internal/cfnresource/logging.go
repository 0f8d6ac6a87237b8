package cfnresource

import (
	"log/slog"
	"os"
)

// maxLoggedBytes bounds each string logged from a request, which may be hostile.
const maxLoggedBytes = 8192

func (r *Runner) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, nil))
}

// eventAttrs are the stable keys that identify a request in the logs. The ResponseURL is never
// among them.
func eventAttrs(e Event) []any {
	return []any{
		"request_type", clip(string(e.RequestType)),
		"stack_id", clip(e.StackID),
		"request_id", clip(e.RequestID),
		"logical_resource_id", clip(e.LogicalResourceID),
		"physical_resource_id", clip(e.PhysicalResourceID),
	}
}

// responseAttrs are eventAttrs with the answer's physical ID, status and reason. Data is never
// logged: it may be NoEcho.
func responseAttrs(e Event, resp Response) []any {
	e.PhysicalResourceID = resp.PhysicalResourceID
	return append(eventAttrs(e), "status", resp.Status, "reason", clip(resp.Reason))
}

func clip(s string) string {
	if len(s) > maxLoggedBytes {
		return s[:runeStart(s, maxLoggedBytes)] + ellipsis
	}
	return s
}
