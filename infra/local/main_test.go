package local_test

import (
	"testing"

	"github.com/envhub/envhub/infra/local/localtest"
)

// TestMain starts what the tests need unless make test did (localtest.MainWithCluster).
func TestMain(m *testing.M) { localtest.MainWithCluster(m) }
