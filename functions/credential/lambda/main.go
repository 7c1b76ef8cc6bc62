// Command lambda is the credential function's Lambda entry point.
package main

import (
	"github.com/envhub/envhub/functions/credential"
	"github.com/envhub/envhub/shared/deps"
)

func main() { deps.Start("credential", credential.Actions) }
