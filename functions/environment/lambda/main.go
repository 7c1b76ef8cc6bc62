// Command lambda is the environment function's Lambda entry point.
package main

import (
	"github.com/envhub/envhub/functions/environment"
	"github.com/envhub/envhub/shared/deps"
)

func main() { deps.Start("environment", environment.Actions) }
