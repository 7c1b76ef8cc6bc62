// Command url is the logs function's entry behind a Lambda Function URL
// (InvokeMode RESPONSE_STREAM): the SSE route, following.
package main

import (
	"github.com/envhub/envhub/functions/logs"
	"github.com/envhub/envhub/shared/deps"
)

func main() { deps.StartStream("logs-url", logs.URLHandler) }
