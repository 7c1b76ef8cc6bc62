// Command lambda is the workload function's Lambda entry point.
package main

import (
	"github.com/envhub/envhub/functions/workload"
	"github.com/envhub/envhub/shared/deps"
)

func main() { deps.Start("workload", workload.Actions) }
