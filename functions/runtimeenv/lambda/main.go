// Command lambda is the runtimeenv function's Lambda entry point.
package main

import (
	"github.com/envhub/envhub/functions/runtimeenv"
	"github.com/envhub/envhub/shared/deps"
)

func main() { deps.Start("runtimeenv", runtimeenv.Actions) }
