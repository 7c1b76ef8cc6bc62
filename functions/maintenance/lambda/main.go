// Command lambda is the maintenance function's Lambda entry point, run by
// an EventBridge schedule.
package main

import (
	"github.com/envhub/envhub/functions/maintenance"
	"github.com/envhub/envhub/shared/deps"
)

func main() { deps.StartTask(maintenance.Task) }
