// Command stdjson counts the live resources whose owner is destroyed or
// missing with encoding/json into structs: the stock Go approach that
// bench/run.sh compares rescoord with.
//
//	go run ./bench/stdjson snapshot.json
package main

import (
	"encoding/json"
	"fmt"
	"os"
)

type snapshot struct {
	Components []struct {
		ID    string `json:"id"`
		State string `json:"state"`
	} `json:"components"`
	Resources []struct {
		ID    string `json:"id"`
		Owner string `json:"owner"`
		State string `json:"state"`
	} `json:"resources"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: stdjson SNAPSHOT")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var s snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	state := make(map[string]string, len(s.Components))
	for _, c := range s.Components {
		state[c.ID] = c.State
	}
	n := 0
	for _, r := range s.Resources {
		if r.State != "active" && r.State != "releasing" {
			continue
		}
		if st, ok := state[r.Owner]; !ok || st == "destroyed" {
			n++
		}
	}
	fmt.Println(n)
}
