package consul_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/goconsul/consul"
)

// A policy, a token holding it, and the token at work: aioconsul's
// acl.create with rules, on the token system.
func ExampleACLService_CreateToken() {
	ctx := context.Background()
	admin, err := consul.NewClient(consul.Config{Token: "<management token>"})
	if err != nil {
		log.Fatal(err)
	}
	policy, err := admin.ACL.CreatePolicy(ctx, &consul.ACLPolicy{
		Name: "app-read",
		Rules: `key_prefix "app/" { policy = "read" }
key_prefix "app/private/" { policy = "deny" }`,
	})
	if err != nil {
		log.Fatal(err)
	}
	token, err := admin.ACL.CreateToken(ctx, &consul.ACLToken{
		Description: "my-app-token",
		Policies:    []consul.ACLLink{{ID: policy.ID}},
	})
	if err != nil {
		log.Fatal(err)
	}

	app, _ := consul.NewClient(consul.Config{Token: token.SecretID})
	_, _, err = app.KV.Get(ctx, "app/private/key")
	fmt.Println(errors.Is(err, consul.ErrPermissionDenied)) // true

	// Tokens are managed by their AccessorID; a deleted one reads as nil.
	_ = admin.ACL.DeleteToken(ctx, token.AccessorID)
	gone, _, _ := admin.ACL.GetToken(ctx, token.AccessorID)
	fmt.Println(gone == nil) // true
}

// A prepared query returning only healthy instances, executed by name.
func ExampleQueryService_Execute() {
	ctx := context.Background()
	client, err := consul.NewClient(consul.Config{})
	if err != nil {
		log.Fatal(err)
	}
	_, err = client.Query.Create(ctx, &consul.PreparedQuery{
		Name:    "web",
		Service: consul.PreparedQueryService{Service: "web", OnlyPassing: true, Tags: []string{"prod"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	res, _, err := client.Query.Execute(ctx, "web", &consul.QueryExecuteOptions{Limit: 3}, consul.Near("_agent"))
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range res.Nodes {
		fmt.Printf("%s:%d\n", e.Node.Address, e.Service.Port)
	}
}
