# Tests of local.rego (`local_only`) and route.rego's `prefer_local` output.
package sovereign.local_test

import data.sovereign.fixtures.as_catalog
import data.sovereign.fixtures.as_sent
import data.sovereign.fixtures.endpoint
import data.sovereign.fixtures.input_for
import data.sovereign.fixtures.route

tenants := {
	"air-gapped": {"local_only": true},
	"local-first": {"prefer_local": true},
	"plain": {"require_region": "eu"},
}

local_ep := endpoint("here", {"local": true})

remote_ep := endpoint("there", {"local": false})

# An endpoint input without the attribute (an old input): remote, fail closed.
unknown_ep := endpoint("unknown", {})

eps := [local_ep, remote_ep, unknown_ep]

remote_reason := "local_only: endpoint is remote: not in-process, not on a loopback or private address (source: catalog)"

test_local_only_request_keeps_local_endpoints_only if {
	result := route with input as input_for({"local_only": true}, null, "t", eps)
	result.allow == {"here"}
	result.deny.there == {remote_reason}
	result.deny.unknown == {remote_reason}
}

test_local_only_by_endpoint_ids_as_the_router_sends_it if {
	inp := input_for({"local_only": true}, null, "t", eps)
	result := route with input as as_sent(inp) with data.catalog as as_catalog(inp)
	result.allow == {"here"}
	result.deny.there == {remote_reason}
}

test_local_only_false_or_absent_excludes_nothing if {
	route.allow == {"here", "there", "unknown"} with input as input_for({"local_only": false}, null, "t", eps)
	route.allow == {"here", "there", "unknown"} with input as input_for({"prefer_local": true}, null, "t", eps)
}

test_tenant_local_only_imposed_whatever_the_request_asks if {
	result := route with input as input_for({"local_only": false}, null, "air-gapped", eps)
		with data.tenants as tenants
	result.allow == {"here"}
	result.deny.there == {"tenant air-gapped: local_only: endpoint is remote: not in-process, not on a loopback or private address (source: catalog)"}
}

test_tenant_and_request_local_only_both_reported if {
	result := route with input as input_for({"local_only": true}, null, "air-gapped", [remote_ep])
		with data.tenants as tenants
	count(result.deny.there) == 2
}

test_local_only_with_other_checks if {
	far := endpoint("far", {"local": true, "residency": {"value": {"region": "us", "country": "US"}, "source": "endpoint"}})
	result := route with input as input_for({"local_only": true}, "eu", "t", [far, remote_ep])
	result.allow == set()
	result.deny.far == {"residency: endpoint processed in region us (country US), eu required (source: endpoint)"}
}

test_prefer_local_output_from_tenant_data_only if {
	data.sovereign.route.prefer_local == true with input as input_for({}, null, "local-first", eps)
		with data.tenants as tenants
	not data.sovereign.route.prefer_local with input as input_for({"prefer_local": true}, null, "plain", eps)
		with data.tenants as tenants
	not data.sovereign.route.prefer_local with input as input_for({}, null, "nobody", eps)
		with data.tenants as tenants
}

test_prefer_local_excludes_nothing if {
	route.allow == {"here", "there", "unknown"} with input as input_for({}, null, "local-first", eps)
		with data.tenants as tenants
}
