package sovereign.route_test

import data.sovereign.fixtures.endpoint
import data.sovereign.fixtures.input_for
import data.sovereign.fixtures.route

as_tenant(tenant, endpoints) := input_for({}, null, tenant, endpoints)

test_tenant_acme_health_allows_compliant_endpoint if {
	route.allow == {"a"} with input as as_tenant("acme-health", [endpoint("a", {})])
}

test_tenant_acme_health_requires_eu_zdr_and_no_training if {
	ep := endpoint("a", {
		"retention_days": {"value": 30, "source": "provider"},
		"trains_on_data": {"value": null, "source": "assumed"},
		"residency": {"value": {"region": "us", "country": "US"}, "source": "endpoint"},
	})
	route.deny.a == {
		"tenant acme-health: zdr: endpoint retains prompts for 30 days (source: provider)",
		"tenant acme-health: training: training unknown, assumed to train on prompts (source: assumed)",
		"tenant acme-health: residency: endpoint processed in region us (country US), eu required (source: endpoint)",
	} with input as as_tenant("acme-health", [ep])
}

test_tenant_acme_health_applies_even_when_request_asks_nothing if {
	ep := endpoint("a", {"caching": {"value": "persistent", "source": "endpoint"}})
	route.deny.a == {"tenant acme-health: zdr: endpoint caches prompts persistently (source: endpoint)"} with input as as_tenant("acme-health", [ep])
}

test_tenant_request_and_tenant_rules_both_reported if {
	ep := endpoint("a", {"retention_days": {"value": 1, "source": "endpoint"}})
	route.deny.a == {
		"zdr: endpoint retains prompts for 1 days (source: endpoint)",
		"tenant acme-health: zdr: endpoint retains prompts for 1 days (source: endpoint)",
	} with input as input_for({"zdr": true}, null, "acme-health", [ep])
}

test_tenant_bund_gov_allows_listed_headquarters_only if {
	de := endpoint("de", {"provider": "aleph", "provider_headquarters": "DE"})
	us := endpoint("us", {"provider": "openai", "provider_headquarters": "US"})
	result := route with input as as_tenant("bund-gov", [de, us])
	result.allow == {"de"}
	result.deny.us == {"tenant bund-gov: headquarters: provider openai headquartered in US; allowed: AT, BE, DE, FR, LU, NL (source: provider)"}
}

test_tenant_headquarters_unknown_fails_closed if {
	blank := endpoint("a", {"provider_headquarters": ""})
	missing := json.remove(endpoint("b", {}), ["provider_headquarters"])
	deny := route.deny with input as as_tenant("bund-gov", [blank, missing])
	reason := "tenant bund-gov: headquarters: provider headquarters unknown; allowed: AT, BE, DE, FR, LU, NL (source: assumed)"
	deny.a == {reason}
	deny.b == {reason}
}

test_tenant_headquarters_case_insensitive if {
	ep := endpoint("a", {"provider_headquarters": "fr"})
	route.allow == {"a"} with input as as_tenant("bund-gov", [ep])
}

test_tenant_unknown_tenant_has_no_tenant_rules if {
	ep := endpoint("a", {"provider_headquarters": "US", "retention_days": {"value": 30, "source": "provider"}})
	route.allow == {"a"} with input as as_tenant("someone-else", [ep])
}

test_tenant_rules_come_from_data if {
	ep := endpoint("a", residency_us)
	route.deny.a == {"tenant t1: residency: endpoint processed in region us (country US), eu required (source: endpoint)"} with input as as_tenant("t1", [ep])
		with data.tenants as {"t1": {"require_region": "EU"}}
}

residency_us := {"residency": {"value": {"region": "us", "country": "US"}, "source": "endpoint"}}
