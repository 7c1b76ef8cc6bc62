// Command lambda is the service function's Lambda entry point.
package main

import (
	"github.com/envhub/envhub/functions/service"
	"github.com/envhub/envhub/shared/deps"
)

func main() { deps.Start("service", service.Actions) }
