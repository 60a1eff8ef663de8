package sovereign.route_test

import data.sovereign.fixtures.endpoint
import data.sovereign.fixtures.input_for
import data.sovereign.route

mixed := [
	endpoint("ok", {}),
	endpoint("retains", {"retention_days": {"value": 30, "source": "provider"}}),
	endpoint("us", {"residency": {"value": {"region": "us", "country": "US"}, "source": "endpoint"}}),
	json.remove(endpoint("unknown", {}), ["retention_days", "trains_on_data", "residency", "caching"]),
]

strict_input := input_for({"zdr": true, "data_collection": "deny"}, "eu", "acme-health", mixed)

test_output_has_only_allow_and_deny if {
	result := route with input as strict_input
	{k | some k, _ in result} == {"allow", "deny"}
}

test_every_endpoint_is_allowed_or_denied_never_both if {
	result := route with input as strict_input
	ids := {ep.id | some ep in mixed}
	denied := object.keys(result.deny)
	result.allow | denied == ids
	count(result.allow & denied) == 0
	result.allow == {"ok"}
}

test_every_denied_endpoint_has_reasons_naming_a_rule if {
	result := route with input as strict_input
	every _, reasons in result.deny {
		count(reasons) > 0
		every r in reasons {
			regex.match(`^(tenant [^:]+: )?(zdr|data_collection|residency|training|headquarters): .+ \(source: (endpoint|provider|assumed)\)$`, r)
		}
	}
}

test_no_endpoints_gives_empty_decision if {
	result := route with input as input_for({"zdr": true}, "eu", "acme-health", [])
	result.allow == set()
	result.deny == {}
}

test_no_preferences_allows_everything if {
	result := route with input as input_for({}, null, "t", mixed)
	count(result.allow) == count(mixed)
}
