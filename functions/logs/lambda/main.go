// Command lambda is the logs function's Lambda entry point behind the HTTP API.
package main

import (
	"github.com/envhub/envhub/functions/logs"
	"github.com/envhub/envhub/shared/deps"
)

func main() { deps.Start("logs", logs.Actions) }
