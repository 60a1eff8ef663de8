package sovereign.route_test

import data.sovereign.fixtures.endpoint
import data.sovereign.fixtures.input_for
import data.sovereign.fixtures.route

no_collection(endpoints) := input_for({"data_collection": "deny"}, null, "t", endpoints)

test_data_collection_deny_allows_no_retention_no_training if {
	route.allow == {"a"} with input as no_collection([endpoint("a", {})])
}

test_data_collection_deny_denies_training if {
	ep := endpoint("a", {"trains_on_data": {"value": true, "source": "provider"}})
	route.deny.a == {"data_collection: endpoint trains on prompts (source: provider)"} with input as no_collection([ep])
}

test_data_collection_deny_denies_unknown_training if {
	ep := endpoint("a", {"trains_on_data": {"value": null, "source": "assumed"}})
	route.deny.a == {"data_collection: training unknown, assumed to train on prompts (source: assumed)"} with input as no_collection([ep])
}

test_data_collection_deny_denies_retention if {
	ep := endpoint("a", {"retention_days": {"value": 30, "source": "provider"}})
	route.deny.a == {"data_collection: endpoint retains prompts for 30 days (source: provider)"} with input as no_collection([ep])
}

test_data_collection_deny_counts_persistent_caching_as_retention if {
	ep := endpoint("a", {"caching": {"value": "persistent", "source": "endpoint"}})
	route.deny.a == {"data_collection: endpoint caches prompts persistently (source: endpoint)"} with input as no_collection([ep])
}

test_data_collection_deny_all_unknown_is_worst_case if {
	ep := json.remove(endpoint("a", {}), ["retention_days", "trains_on_data", "caching"])
	route.deny.a == {
		"data_collection: retention unknown, assumed indefinite (source: assumed)",
		"data_collection: caching unknown, assumed persistent (source: assumed)",
		"data_collection: training unknown, assumed to train on prompts (source: assumed)",
	} with input as no_collection([ep])
}

test_data_collection_allow_applies_nothing if {
	ep := endpoint("a", {"trains_on_data": {"value": true, "source": "provider"}})
	route.allow == {"a"} with input as input_for({"data_collection": "allow"}, null, "t", [ep])
}
