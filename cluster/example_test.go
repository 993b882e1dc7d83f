package cluster_test

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/types/known/wrapperspb"

	qcluster "github.com/quiesce/quiesce/cluster"
	"github.com/quiesce/quiesce/internal/clusternode"
)

// A member leaves while its grain holds a count: the grain drains, hands the count
// to the identity's new owner, and the next request there goes on counting.
func ExampleMember_Leave() {
	// Two members on the in-memory test provider, and a third member without the
	// kind that sends the requests (the test provider's StartClient dereferences
	// nil), each with a qcluster.Member installed between cluster.New and
	// StartMember (see internal/clusternode); the counter kind is a qcluster.Grain
	// whose Save and Load carry its count.
	leaving, staying, client := exampleCluster("x")
	defer stopNodes(staying, client)

	caller, err := qcluster.NewCaller(client.Cluster, qcluster.CallerConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	add := func(id string) int64 {
		res, err := caller.Request(ctx, "x", "counter", wrapperspb.String(id))
		if err != nil {
			fmt.Println(err)
			return 0
		}
		return res.(*wrapperspb.Int64Value).Value
	}
	fmt.Println("x:", add("a"), add("b"), add("c"))

	report, err := leaving.Member.Leave(ctx) // on SIGTERM, instead of Cluster.Shutdown(true)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("leave: %d grain drained, %v\n", len(report.Tree.Roots), report.Tree.Verdict)
	fmt.Println("x after the leave:", add("d"))
	// Output:
	// x: 1 2 3
	// leave: 1 grain drained, all completed
	// x after the leave: 4
}

// exampleCluster returns the example's cluster, started in TestMain: the member
// that owns identity, the other, and the client.
func exampleCluster(identity string) (leaving, staying, client *clusternode.Node) {
	own, others := owner(exampleFleet.ms, identity)
	return own, others[0], exampleFleet.client
}

// stopNodes shuts nodes down with a leave each, in order.
func stopNodes(nodes ...*clusternode.Node) {
	for _, n := range nodes {
		_, _ = n.Member.Leave(context.Background())
	}
}
