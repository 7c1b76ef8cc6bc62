// Command lambda is the envcfg function's Lambda entry point.
package main

import (
	"github.com/envhub/envhub/functions/envcfg"
	"github.com/envhub/envhub/shared/deps"
)

func main() { deps.Start("envcfg", envcfg.Actions) }
