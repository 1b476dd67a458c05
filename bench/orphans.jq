# Counts the live resources whose owner is destroyed or missing: the
# analysis at the heart of `rescoord leaks`, written as users would in jq.
#   jq -f bench/orphans.jq snapshot.json
(reduce .components[] as $c ({}; .[$c.id] = $c.state)) as $state
| [ .resources[]
    | select(.state == "active" or .state == "releasing")
    | select(($state[.owner] // "destroyed") == "destroyed") ]
| length
