package sovereign.route_test

import data.sovereign.fixtures.endpoint
import data.sovereign.fixtures.input_for
import data.sovereign.fixtures.route

# A local endpoint (api local): every fact established by construction (source runtime).
local_endpoint(id, region, country) := endpoint(id, {
	"provider": "local",
	"provider_headquarters": country,
	"retention_days": {"value": 0, "source": "runtime"},
	"trains_on_data": {"value": false, "source": "runtime"},
	"residency": {"value": {"region": region, "country": country}, "source": "runtime"},
	"caching": {"value": "in_memory", "source": "runtime"},
})

test_runtime_facts_pass_zdr_and_eu_residency if {
	result := route with input as input_for({"zdr": true}, "eu", "t", [local_endpoint("local/m", "eu", "DE")])
	result.allow == {"local/m"}
	result.deny == {}
}

test_runtime_source_is_named_in_a_denial if {
	ep := local_endpoint("local/m", "us", "US")
	route.deny["local/m"] == {"residency: endpoint processed in region us (country US), eu required (source: runtime)"} with input as input_for({}, "eu", "t", [ep])
}

test_runtime_residency_unknown_without_location_is_assumed if {
	ep := endpoint("local/m", {
		"provider_headquarters": null,
		"residency": {"value": {"region": null, "country": null}, "source": "assumed"},
	})
	route.deny["local/m"] == {"residency: residency unknown, matches no region; eu required (source: assumed)"} with input as input_for({}, "eu", "t", [ep])
}
