package sovereign.route_test

import data.sovereign.fixtures.endpoint
import data.sovereign.fixtures.input_for
import data.sovereign.fixtures.route

in_region(region, endpoints) := input_for({}, region, "t", endpoints)

residency(region, country) := {"residency": {"value": {"region": region, "country": country}, "source": "endpoint"}}

test_residency_eu_allows_eu_and_eea_countries if {
	eps := [endpoint("fr", residency("eu", "FR")), endpoint("no", residency("eu", "NO")), endpoint("de", residency("eu", "de"))]
	route.allow == {"fr", "no", "de"} with input as in_region("eu", eps)
}

test_residency_eu_allows_known_region_without_country if {
	route.allow == {"a"} with input as in_region("eu", [endpoint("a", residency("eu", null))])
}

test_residency_region_is_case_insensitive if {
	route.allow == {"a"} with input as in_region("EU", [endpoint("a", residency("EU", "FR"))])
}

test_residency_eu_denies_other_region if {
	ep := endpoint("a", residency("us", "US"))
	route.deny.a == {"residency: endpoint processed in region us (country US), eu required (source: endpoint)"} with input as in_region("eu", [ep])
}

test_residency_eu_denies_country_outside_eu_eea if {
	ep := endpoint("a", residency("eu", "CH"))
	route.deny.a == {"residency: endpoint processed in CH, not a country of region eu (source: endpoint)"} with input as in_region("eu", [ep])
}

test_residency_fails_closed_on_unknown_region if {
	null_region := endpoint("a", residency(null, "FR"))
	null_value := endpoint("b", {"residency": {"value": null, "source": "assumed"}})
	missing := json.remove(endpoint("c", {}), ["residency"])
	deny := route.deny with input as in_region("eu", [null_region, null_value, missing])
	reason := "residency: residency unknown, matches no region; eu required (source: assumed)"
	deny.a == {reason}
	deny.b == {reason}
	deny.c == {reason}
}

test_residency_region_without_country_list_matches_exactly if {
	eps := [endpoint("us", residency("us", "US")), endpoint("fr", residency("eu", "FR"))]
	result := route with input as in_region("us", eps)
	result.allow == {"us"}
	result.deny.fr == {"residency: endpoint processed in region eu (country FR), us required (source: endpoint)"}
}

test_residency_not_applied_without_region if {
	ep := endpoint("a", residency("us", "US"))
	route.allow == {"a"} with input as in_region(null, [ep])
	route.allow == {"a"} with input as in_region("", [ep])
}
