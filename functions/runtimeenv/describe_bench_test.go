package runtimeenv_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/shared/model"
)

// BenchmarkDescribeRuntimeEnvs measures one page (page_size 10, verbose 1)
// through the Lambda adapter and handler at 100 and 10,000 envs, against the
// same page read with direct SDK calls (Query + counter GetItem) on the same
// DynamoDB Local, and prints the ratios. Figures, not assertions.
func BenchmarkDescribeRuntimeEnvs(b *testing.B) {
	const samples = 1000
	sizes := []int{100, 10_000}
	type series struct{ api, sdk []time.Duration }
	var ops []func()
	results := make([]series, len(sizes))
	for i, size := range sizes {
		e := lt.New(b) // one table per size, both on the same DynamoDB Local
		seed(b, e, size)
		table := e.Deps.Store.Table()
		ops = append(ops, func() {
			r := e.Call(lt.Admin, "DescribeRuntimeEnvs", lt.Req{Query: url.Values{"page_size": {"10"}, "verbose": {"1"}}})
			if r.Status != 200 || len(r.Body["runtime_env_set"].([]any)) != 10 || r.Body["total_count"] != float64(size) {
				b.Fatalf("bad page: %d %v", r.Status, r.Body["total_count"])
			}
		}, func() { directPage(b, e.Deps.DB, table) })
		results[i] = series{make([]time.Duration, 0, samples), make([]time.Duration, 0, samples)}
	}
	// Warm up DynamoDB Local's JIT and the connections, then interleave the
	// four cases sample by sample so drift affects them all alike.
	for i := 0; i < 300; i++ {
		for _, op := range ops {
			op()
		}
	}
	for n := 0; n < samples; n++ {
		for i, op := range ops {
			start := time.Now()
			op()
			d := time.Since(start)
			if i%2 == 0 {
				results[i/2].api = append(results[i/2].api, d)
			} else {
				results[i/2].sdk = append(results[i/2].sdk, d)
			}
		}
	}
	fmt.Printf("\nDescribeRuntimeEnvs page_size=10 verbose=1, DynamoDB Local, %d interleaved samples each, same run\n", samples)
	for i, size := range sizes {
		r := results[i]
		fmt.Printf("  envs=%-6d API p50 %6.2f ms  p99 %6.2f ms | direct SDK p50 %6.2f ms  p99 %6.2f ms\n",
			size, ms(pct(r.api, 50)), ms(pct(r.api, 99)), ms(pct(r.sdk, 50)), ms(pct(r.sdk, 99)))
		b.ReportMetric(ms(pct(r.api, 50)), fmt.Sprintf("api-p50-ms@%d", size))
		b.ReportMetric(ms(pct(r.sdk, 50)), fmt.Sprintf("sdk-p50-ms@%d", size))
	}
	small, big := results[0], results[1]
	fmt.Printf("  API p50 at 10000 / at 100 envs: %.2fx (target <= 1.3)\n", ms(pct(big.api, 50))/ms(pct(small.api, 50)))
	fmt.Printf("  API / direct SDK p50 at 10000 envs: %.2fx (target <= 1.5)\n\n", ms(pct(big.api, 50))/ms(pct(big.sdk, 50)))
}

// seed grows the table to n envs through the store, as the API would.
func seed(b *testing.B, e *lt.Env, n int) {
	have := int(describeTotal(b, e))
	todo := int64(n - have)
	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for atomic.AddInt64(&todo, -1) >= 0 {
				env := &model.RuntimeEnv{Record: model.Record{ID: model.NewID(model.KindRuntimeEnv), Owner: "alice", Visibility: model.Public},
					Runtime: model.Kubernetes, Name: "bench", Endpoint: "https://k8s.example.com", Zone: "default"}
				if err := e.Deps.Store.CreateRuntimeEnv(context.Background(), env); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "seeded %d envs in %s\n", n-have, time.Since(start).Round(time.Millisecond))
}

func describeTotal(b *testing.B, e *lt.Env) float64 {
	r := e.Call(lt.Admin, "DescribeRuntimeEnvs", lt.Req{Query: url.Values{"page_size": {"1"}}})
	return r.Body["total_count"].(float64)
}

// directPage is the page read with plain SDK calls: the newest 10 active
// envs from the index, and the counter that gives the total.
func directPage(b *testing.B, db *dynamodb.Client, table string) {
	ctx := context.Background()
	key := expression.Key("G1PK").Equal(expression.Value("re|active"))
	ex, _ := expression.NewBuilder().WithKeyCondition(key).Build()
	var wg sync.WaitGroup
	var total *dynamodb.GetItemOutput
	var terr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		total, terr = db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "N#re|active"}, "SK": &types.AttributeValueMemberS{Value: "A"}}})
	}()
	out, err := db.Query(ctx, &dynamodb.QueryInput{TableName: &table, IndexName: aws.String("G1-index"),
		KeyConditionExpression: ex.KeyCondition(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
		ScanIndexForward: aws.Bool(false), Limit: aws.Int32(10)})
	wg.Wait()
	if err != nil || terr != nil {
		b.Fatal(err, terr)
	}
	var envs []model.RuntimeEnv
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &envs); err != nil || len(envs) != 10 || total.Item == nil {
		b.Fatalf("direct page: %v %d", err, len(envs))
	}
}

func pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
