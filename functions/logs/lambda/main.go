// Command lambda is the logs function's Lambda entry point: the HTTP API's
// SSE route, the WebSocket API's routes and its own stream workers.
package main

import (
	"github.com/envhub/envhub/functions/logs"
	"github.com/envhub/envhub/shared/deps"
)

func main() { deps.StartRaw("logs", logs.Invoke) }
