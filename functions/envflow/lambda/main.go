// Command lambda is the envflow function's Lambda entry point: the state
// machines' tasks.
package main

import (
	"github.com/envhub/envhub/functions/envflow"
	"github.com/envhub/envhub/shared/deps"
)

func main() { deps.StartTask(envflow.Task) }
