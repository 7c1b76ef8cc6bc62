package local

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/envhub/envhub/shared/workflow"
)

// InvokePattern is the Lambda Invoke API route the local state machine
// engine calls for its Task states.
const InvokePattern = "POST /2015-03-31/functions/{name}/invocations"

// Invoke serves the Lambda Invoke API for task functions (by function name
// or ARN), answering errors as Lambda does: X-Amz-Function-Error with an
// errorType the definitions' Retry and Catch match on. As in AWS, only
// requests SigV4-signed with creds are served: the tasks act with the
// functions' own rights, past every JWT check.
//
// An asynchronous invocation (X-Amz-Invocation-Type: Event) is answered
// 202 at once and runs in the background until Close.
func Invoke(tasks map[string]workflow.Task, creds Credentials) *Invoker {
	ctx, cancel := context.WithCancel(context.Background())
	return &Invoker{tasks: tasks, creds: creds, bg: ctx, cancel: cancel}
}

// Invoker serves the Lambda Invoke API.
type Invoker struct {
	tasks  map[string]workflow.Task
	creds  Credentials
	bg     context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Close ends the asynchronous invocations still running and waits for them.
func (iv *Invoker) Close() {
	iv.cancel()
	iv.wg.Wait()
}

func (iv *Invoker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tasks, creds := iv.tasks, iv.creds
	{
		payload, err := io.ReadAll(io.LimitReader(r.Body, 6<<20)) // Lambda's payload limit
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if err := creds.Verify(r, payload, "lambda"); err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Amzn-ErrorType", "InvalidSignatureException")
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": "request not signed with the local server's credentials: " + err.Error()})
			return
		}
		raw := strings.TrimSuffix(strings.TrimPrefix(r.URL.EscapedPath(), "/2015-03-31/functions/"), "/invocations")
		name, _ := url.PathUnescape(raw)
		if i := strings.LastIndex(name, ":function:"); i >= 0 {
			name = name[i+len(":function:"):]
		}
		name, _, _ = strings.Cut(name, ":") // drop a version or alias qualifier
		task, ok := tasks[name]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]string{"Type": "User", "Message": "Function not found: " + name})
			return
		}
		if r.Header.Get("X-Amz-Invocation-Type") == "Event" {
			iv.wg.Add(1)
			go func() {
				defer iv.wg.Done()
				if _, err := task.Lambda(iv.bg, payload); err != nil {
					slog.Error("asynchronous invocation", "function", name, "err", err)
				}
			}()
			w.WriteHeader(http.StatusAccepted)
			return
		}
		out, err := task.Lambda(r.Context(), payload)
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			var le messages.InvokeResponse_Error
			errors.As(err, &le)
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			_ = json.NewEncoder(w).Encode(map[string]string{"errorType": le.Type, "errorMessage": le.Message})
			return
		}
		_ = json.NewEncoder(w).Encode(out)
	}
}
