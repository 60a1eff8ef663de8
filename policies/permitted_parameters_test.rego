# Tests of `permitted_parameters` (route.rego, lib/request.rego): which retention parameters
# the router may send.
package sovereign.permitted_parameters_test

import data.sovereign.fixtures.as_catalog
import data.sovereign.fixtures.as_sent
import data.sovereign.fixtures.endpoint
import data.sovereign.fixtures.input_for

tenants := {
	"keeps": {"permitted_parameters": ["store", "prompt_cache_key"]},
	"keeps-zdr": {"permitted_parameters": ["store"], "require_zdr": true},
	"plain": {"require_region": "eu"},
}

# A request of `tenant` with `provider` preferences using the retention parameters `used`.
asking(provider, tenant, used) := object.union(
	input_for(provider, null, tenant, [endpoint("a", {})]),
	{"request": {"retention_parameters": used}},
)

permitted(provider, tenant, used) := p if {
	p := data.sovereign.route.permitted_parameters with input as asking(provider, tenant, used)
		with data.tenants as tenants
}

test_none_permitted_by_default if {
	permitted({}, "nobody", ["store"]) == []
	permitted({}, "plain", ["store", "prompt_cache_key"]) == []
}

test_tenant_list_permits_only_what_the_request_uses_and_the_list_names if {
	permitted({}, "keeps", ["store"]) == ["store"]
	permitted({}, "keeps", ["store", "prompt_cache_key", "prompt_cache_retention"]) == ["store", "prompt_cache_key"]
}

test_request_zdr_or_no_data_collection_permits_nothing if {
	permitted({"zdr": true}, "keeps", ["store", "prompt_cache_key"]) == []
	permitted({"data_collection": "deny"}, "keeps", ["store"]) == []
	permitted({"zdr": false, "data_collection": "allow"}, "keeps", ["store"]) == ["store"]
}

test_tenant_require_zdr_permits_nothing if {
	permitted({}, "keeps-zdr", ["store"]) == []
}

test_absent_when_the_request_uses_none if {
	doc := data.sovereign.route with input as asking({}, "keeps", []) with data.tenants as tenants
	not doc.permitted_parameters
	old := data.sovereign.route with input as input_for({}, null, "keeps", [endpoint("a", {})])
		with data.tenants as tenants
	not old.permitted_parameters
}

test_permitting_a_parameter_denies_no_endpoint if {
	inp := asking({}, "keeps", ["store"])
	doc := data.sovereign.route with input as as_sent(inp) with data.catalog as as_catalog(inp)
		with data.tenants as tenants
	doc.allow == [0]
	doc.permitted_parameters == ["store"]
}

test_non_string_entries_ignored if {
	odd := {"odd": {"permitted_parameters": [1, null, "store"]}}
	doc := data.sovereign.route with input as asking({}, "odd", ["store", "prompt_cache_key"]) with data.tenants as odd
	doc.permitted_parameters == ["store"]
}
