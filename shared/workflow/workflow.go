// Package workflow starts the state machines that run long operations
// (environment create and delete): AWS Step Functions in AWS, the same ASL
// definitions on aws-local-stepfunctions locally.
package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// Runner starts, inspects and stops executions of named state machines.
// An execution is named (after its operation) by the caller, so that a
// start is idempotent and the execution can be found again by that name.
type Runner interface {
	Start(ctx context.Context, machine, name string, input []byte) error
	Running(ctx context.Context, machine, name string) (bool, error)
	Stop(ctx context.Context, machine, name, cause string) error
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
	DescribeExecution(context.Context, *sfn.DescribeExecutionInput, ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	StopExecution(context.Context, *sfn.StopExecutionInput, ...func(*sfn.Options)) (*sfn.StopExecutionOutput, error)
}

var _ SFNAPI = (*sfn.Client)(nil)

// SFN starts executions on AWS Step Functions.
type SFN struct {
	Client SFNAPI
	ARNs   map[string]string // machine name -> state machine ARN
}

var _ Runner = SFN{}

// Start starts an execution; its name makes it idempotent on AWS's side too.
func (s SFN) Start(ctx context.Context, machine, name string, input []byte) error {
	arn, ok := s.ARNs[machine]
	if !ok {
		return fmt.Errorf("no state machine %q configured", machine)
	}
	_, err := s.Client.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(arn), Name: aws.String(name), Input: aws.String(string(input)),
	})
	if err != nil {
		return fmt.Errorf("start %s: %w", machine, err)
	}
	return nil
}

// executionARN is the ARN Step Functions gives the execution name of machine.
func (s SFN) executionARN(machine, name string) (string, error) {
	arn, ok := s.ARNs[machine]
	if !ok {
		return "", fmt.Errorf("no state machine %q configured", machine)
	}
	return strings.Replace(arn, ":stateMachine:", ":execution:", 1) + ":" + name, nil
}

// Running tells whether the execution exists and runs.
func (s SFN) Running(ctx context.Context, machine, name string) (bool, error) {
	arn, err := s.executionARN(machine, name)
	if err != nil {
		return false, err
	}
	out, err := s.Client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	var missing *types.ExecutionDoesNotExist
	if errors.As(err, &missing) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("describe %s: %w", arn, err)
	}
	return out.Status == types.ExecutionStatusRunning, nil
}

// Stop stops the execution if it still runs.
func (s SFN) Stop(ctx context.Context, machine, name, cause string) error {
	arn, err := s.executionARN(machine, name)
	if err != nil {
		return err
	}
	_, err = s.Client.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(arn), Cause: aws.String(cause), Error: aws.String("envhub.Deadline")})
	var missing *types.ExecutionDoesNotExist
	if errors.As(err, &missing) {
		return nil
	}
	return err
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
