// Command lambda is the label function's Lambda entry point.
package main

import (
	"github.com/envhub/envhub/functions/label"
	"github.com/envhub/envhub/shared/deps"
)

func main() { deps.Start("label", label.Actions) }
