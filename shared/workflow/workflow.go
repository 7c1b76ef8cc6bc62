// Package workflow starts the state machines that run long operations
// (environment create and delete): AWS Step Functions in AWS, the same ASL
// definitions on aws-local-stepfunctions locally.
package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

// Starter starts one execution of a named state machine.
type Starter interface {
	Start(ctx context.Context, machine, name string, input []byte) (string, error)
}

// TaskError is a task failure with the error name the definitions' Retry
// and Catch match on (e.g. Transient).
type TaskError struct {
	Type    string
	Message string
}

func (e *TaskError) Error() string { return e.Type + ": " + e.Message }

// Error names the definitions use.
const (
	ErrTransient = "Transient" // retried: the cluster or DynamoDB hiccupped
	ErrFailed    = "Failed"    // caught: the operation cannot succeed
)

// LambdaError gives a task's error the errorType Step Functions matches on,
// as the Lambda runtime reports it.
func LambdaError(err error) error {
	var te *TaskError
	if errors.As(err, &te) {
		return messages.InvokeResponse_Error{Type: te.Type, Message: te.Message}
	}
	return messages.InvokeResponse_Error{Type: ErrFailed, Message: err.Error()}
}

// SFNAPI is the part of the Step Functions client SFN uses.
type SFNAPI interface {
	StartExecution(context.Context, *sfn.StartExecutionInput, ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
}

var _ SFNAPI = (*sfn.Client)(nil)

// SFN starts executions on AWS Step Functions.
type SFN struct {
	Client SFNAPI
	ARNs   map[string]string // machine name -> state machine ARN
}

// Start starts an execution; name makes it idempotent on AWS's side too.
func (s SFN) Start(ctx context.Context, machine, name string, input []byte) (string, error) {
	arn, ok := s.ARNs[machine]
	if !ok {
		return "", fmt.Errorf("no state machine %q configured", machine)
	}
	out, err := s.Client.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(arn), Name: aws.String(name), Input: aws.String(string(input)),
	})
	if err != nil {
		return "", fmt.Errorf("start %s: %w", machine, err)
	}
	return aws.ToString(out.ExecutionArn), nil
}

// Task is a state machine task as a Lambda function runs it.
type Task func(ctx context.Context, payload json.RawMessage) (any, error)

// Lambda adapts a task for lambda.Start: its errors carry their TaskError type.
func (t Task) Lambda(ctx context.Context, payload json.RawMessage) (any, error) {
	out, err := t(ctx, payload)
	if err != nil {
		return nil, LambdaError(err)
	}
	return out, nil
}
