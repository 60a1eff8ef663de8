package sovereign.route_test

import data.sovereign.fixtures.endpoint
import data.sovereign.fixtures.input_for
import data.sovereign.fixtures.route

zdr(endpoints) := input_for({"zdr": true}, null, "t", endpoints)

test_zdr_allows_zero_retention_with_in_memory_caching if {
	result := route with input as zdr([endpoint("a", {})])
	result.allow == {"a"}
	result.deny == {}
}

test_zdr_allows_no_caching if {
	"a" in route.allow with input as zdr([endpoint("a", {"caching": {"value": "none", "source": "endpoint"}})])
}

test_zdr_denies_retention_with_days_and_source if {
	ep := endpoint("a", {"retention_days": {"value": 30, "source": "provider"}})
	route.deny.a == {"zdr: endpoint retains prompts for 30 days (source: provider)"} with input as zdr([ep])
	not "a" in route.allow with input as zdr([ep])
}

test_zdr_denies_null_retention_as_indefinite if {
	ep := endpoint("a", {"retention_days": {"value": null, "source": "assumed"}})
	route.deny.a == {"zdr: retention unknown, assumed indefinite (source: assumed)"} with input as zdr([ep])
}

test_zdr_null_value_is_assumed_whatever_the_claimed_source if {
	ep := endpoint("a", {"retention_days": {"value": null, "source": "endpoint"}})
	route.deny.a == {"zdr: retention unknown, assumed indefinite (source: assumed)"} with input as zdr([ep])
}

test_zdr_denies_missing_retention_attribute if {
	ep := json.remove(endpoint("a", {}), ["retention_days"])
	route.deny.a == {"zdr: retention unknown, assumed indefinite (source: assumed)"} with input as zdr([ep])
}

test_zdr_denies_negative_or_non_numeric_retention if {
	neg := endpoint("a", {"retention_days": {"value": -1, "source": "endpoint"}})
	str := endpoint("b", {"retention_days": {"value": "0", "source": "endpoint"}})
	deny := route.deny with input as zdr([neg, str])
	deny.a == {"zdr: retention unknown, assumed indefinite (source: assumed)"}
	deny.b == {"zdr: retention unknown, assumed indefinite (source: assumed)"}
}

test_zdr_denies_persistent_caching if {
	ep := endpoint("a", {"caching": {"value": "persistent", "source": "endpoint"}})
	route.deny.a == {"zdr: endpoint caches prompts persistently (source: endpoint)"} with input as zdr([ep])
}

test_zdr_denies_unknown_or_unrecognised_caching if {
	unknown := endpoint("a", {"caching": {"value": null, "source": "assumed"}})
	odd := endpoint("b", {"caching": {"value": "disk", "source": "endpoint"}})
	deny := route.deny with input as zdr([unknown, odd])
	deny.a == {"zdr: caching unknown, assumed persistent (source: assumed)"}
	deny.b == {"zdr: caching unknown, assumed persistent (source: assumed)"}
}

test_zdr_reports_every_problem if {
	ep := endpoint("a", {
		"retention_days": {"value": 7, "source": "endpoint"},
		"caching": {"value": "persistent", "source": "provider"},
	})
	route.deny.a == {
		"zdr: endpoint retains prompts for 7 days (source: endpoint)",
		"zdr: endpoint caches prompts persistently (source: provider)",
	} with input as zdr([ep])
}

test_zdr_unrecognised_source_reported_as_assumed if {
	ep := endpoint("a", {"retention_days": {"value": 1, "source": "catalog"}})
	route.deny.a == {"zdr: endpoint retains prompts for 1 days (source: assumed)"} with input as zdr([ep])
}

test_zdr_not_applied_unless_requested if {
	ep := endpoint("a", {"retention_days": {"value": 30, "source": "provider"}})
	"a" in route.allow with input as input_for({}, null, "t", [ep])
	"a" in route.allow with input as input_for({"zdr": false}, null, "t", [ep])
}
