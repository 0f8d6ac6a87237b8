package lambdaruntime

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// The Runtime API, version 2018-06-01, as documented in
// https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html and as
// aws-lambda-go v1.55.1 (lambda/runtime_api_client.go, invoke_loop.go) uses it:
// answers to POSTs must be 202 Accepted, the deadline header is parsed as epoch
// milliseconds, and an error while streaming a response arrives in HTTP trailers.
const (
	apiPrefix = "/2018-06-01/runtime/"

	headerRequestID   = "Lambda-Runtime-Aws-Request-Id"
	headerDeadlineMS  = "Lambda-Runtime-Deadline-Ms"
	headerFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID     = "Lambda-Runtime-Trace-Id"
	headerErrorType   = "Lambda-Runtime-Function-Error-Type" // header on /error, trailer on /response
	trailerErrorBody  = "Lambda-Runtime-Function-Error-Body" // base64 JSON, trailer on /response

	maxResponseBytes = 6 << 20 // Lambda's limit for a synchronous response
)

// FunctionError is what the function posted to .../invocation/{id}/error (or
// /runtime/init/error). aws-lambda-go sends {"errorMessage","errorType","stackTrace"};
// for a panic the type is the panic value's type (e.g. "string") and the process exits afterwards.
type FunctionError struct {
	Type       string          `json:"errorType"`
	Message    string          `json:"errorMessage"`
	StackTrace json.RawMessage `json:"stackTrace,omitempty"`
	// Payload is the body as posted, which Lambda's Invoke API would return to the caller.
	Payload []byte `json:"-"`
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// invocation is one event on its way through the function.
type invocation struct {
	id         string
	payload    []byte
	deadline   time.Time
	dispatched time.Time // set by GET /next, under Runtime.mu
	done       chan struct{}
	result     Invocation // written before done is closed
}

func (r *Runtime) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+apiPrefix+"invocation/next", r.next)
	mux.HandleFunc("POST "+apiPrefix+"invocation/{id}/response", func(w http.ResponseWriter, req *http.Request) {
		r.answer(w, req, false)
	})
	mux.HandleFunc("POST "+apiPrefix+"invocation/{id}/error", func(w http.ResponseWriter, req *http.Request) {
		r.answer(w, req, true)
	})
	mux.HandleFunc("POST "+apiPrefix+"init/error", r.initError)
	return mux
}

// next is the long poll: it returns the next queued event. The first call ends the init phase.
func (r *Runtime) next(w http.ResponseWriter, req *http.Request) {
	r.readyOnce.Do(func() {
		r.mu.Lock()
		r.firstNext = time.Now()
		r.mu.Unlock()
		close(r.ready)
	})
	select {
	case inv := <-r.queue:
		r.mu.Lock()
		inv.dispatched = time.Now()
		r.inflight[inv.id] = inv
		r.mu.Unlock()
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set(headerRequestID, inv.id)
		h.Set(headerDeadlineMS, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set(headerFunctionARN, r.functionARN)
		h.Set(headerTraceID, fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), randomHex(24), randomHex(16)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(inv.payload)
	case <-req.Context().Done(): // the process went away
	case <-r.closing:
		writeAPIError(w, http.StatusInternalServerError, "Runtime.Shutdown", "the runtime is shutting down")
	}
}

// answer handles POST .../response and .../error: it completes the invocation and returns 202.
func (r *Runtime) answer(w http.ResponseWriter, req *http.Request, failed bool) {
	id := req.PathValue("id")
	r.mu.Lock()
	inv := r.inflight[id]
	delete(r.inflight, id)
	r.mu.Unlock()
	if inv == nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation in progress with ID "+id)
		return
	}
	// Reading to EOF also reads the trailers.
	body, err := io.ReadAll(io.LimitReader(req.Body, maxResponseBytes+1))
	if err != nil {
		// The function went away mid-body; Invoke reports the exit (or the timeout).
		writeAPIError(w, http.StatusBadRequest, "InvalidRequestBody", err.Error())
		return
	}
	res := Invocation{RequestID: id, Duration: time.Since(inv.dispatched)}
	switch {
	case len(body) > maxResponseBytes:
		res.Error = &FunctionError{Type: "Function.ResponseSizeTooLarge",
			Message: fmt.Sprintf("response payload larger than %d bytes", maxResponseBytes)}
		writeAPIError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", res.Error.Message)
		inv.complete(res)
		return
	case failed:
		res.Error = parseFunctionError(body, req.Header.Get(headerErrorType))
	case req.Trailer.Get(headerErrorType) != "":
		// aws-lambda-go: reading the handler's io.Reader failed after the response had started.
		raw, _ := base64.StdEncoding.DecodeString(req.Trailer.Get(trailerErrorBody))
		res.Error = parseFunctionError(raw, req.Trailer.Get(headerErrorType))
	default:
		res.Response = body
	}
	inv.complete(res)
	writeAccepted(w)
}

// initError handles POST /runtime/init/error; Start then fails with ErrInit.
func (r *Runtime) initError(w http.ResponseWriter, req *http.Request) {
	select {
	case <-r.ready:
		writeAPIError(w, http.StatusForbidden, "InvalidStateTransition", "init has already finished")
		return
	default:
	}
	body, _ := io.ReadAll(io.LimitReader(req.Body, maxResponseBytes))
	r.initFailOnce.Do(func() {
		r.initErr = parseFunctionError(body, req.Header.Get(headerErrorType))
		close(r.initFailed)
	})
	writeAccepted(w)
}

func (inv *invocation) complete(res Invocation) {
	inv.result = res
	close(inv.done)
}

func parseFunctionError(body []byte, headerType string) *FunctionError {
	fe := &FunctionError{Payload: body}
	if json.Unmarshal(body, fe) != nil {
		fe.Message = string(body)
	}
	if fe.Type == "" {
		fe.Type = headerType
	}
	if fe.Type == "" {
		fe.Type = "Unhandled"
	}
	return fe
}

func writeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func writeAPIError(w http.ResponseWriter, code int, errType, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"errorType": errType, "errorMessage": msg})
}
