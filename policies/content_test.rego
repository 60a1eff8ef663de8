# Tests of pii_requires_eu.rego, secrets_deny.rego and the redact obligation (route.rego
# `obligations`): rules on the detectors' labels, never on text.
package sovereign.content_test

import data.sovereign.fixtures.as_catalog
import data.sovereign.fixtures.as_sent
import data.sovereign.fixtures.endpoint
import data.sovereign.fixtures.input_for
import data.sovereign.fixtures.route

tenants := {
	"pii": {"pii_requires_eu": true},
	"secrets": {"secrets_deny": true},
	"redact": {"pii_requires_eu": true, "pii_redact_outside_eu": true},
}

eu := endpoint("eu", {})

us := endpoint("us", {"residency": {"value": {"region": "us", "country": "US"}, "source": "endpoint"}})

trains := endpoint("trains", {"trains_on_data": {"value": true, "source": "provider"}})

labels(counts, unscannable) := {"version": "sovr-detect/1", "counts": counts, "unscannable": unscannable}

# A request of `tenant` whose content the detectors labelled `content_labels`.
with_labels(tenant, content_labels) := object.union(
	input_for({}, null, tenant, [eu, us, trains]),
	{"request": {"content_labels": content_labels}},
)

test_pii_only_to_eu_without_training if {
	result := route with input as with_labels("pii", labels({"email": 2, "iban": 1}, 0)) with data.tenants as tenants
	result.allow == {"eu"}
	result.deny.us == {"tenant pii: pii_requires_eu: personal data (email 2, iban 1): endpoint processed in region us (country US), eu required (source: endpoint)"}
	result.deny.trains == {"tenant pii: pii_requires_eu: personal data (email 2, iban 1): endpoint trains on prompts (source: provider)"}
}

test_no_personal_data_goes_anywhere if {
	route.allow == {"eu", "us", "trains"} with input as with_labels("pii", labels({}, 0)) with data.tenants as tenants
	route.allow == {"eu", "us", "trains"} with input as with_labels("pii", labels({"email": 0}, 0))
		with data.tenants as tenants
}

test_a_secret_is_not_personal_data if {
	route.allow == {"eu", "us", "trains"} with input as with_labels("pii", labels({"secret": 1}, 0))
		with data.tenants as tenants
}

test_pii_unknown_content_fails_closed if {
	r1 := route with input as with_labels("pii", null) with data.tenants as tenants
	r1.allow == {"eu"}
	r1.deny.us == {"tenant pii: pii_requires_eu: may hold personal data: no content detector: endpoint processed in region us (country US), eu required (source: endpoint)"}
	r2 := route with input as input_for({}, null, "pii", [eu, us]) with data.tenants as tenants
	r2.allow == {"eu"}
	r3 := route with input as with_labels("pii", labels({}, 2)) with data.tenants as tenants
	r3.deny.us == {"tenant pii: pii_requires_eu: may hold personal data: 2 part(s) could not be scanned: endpoint processed in region us (country US), eu required (source: endpoint)"}
}

test_secret_denies_every_endpoint if {
	result := route with input as with_labels("secrets", labels({"secret": 1, "email": 1}, 0)) with data.tenants as tenants
	result.allow == set()
	result.deny.eu == {"tenant secrets: secrets_deny: prompt holds a secret (1)"}
	result.deny.us == {"tenant secrets: secrets_deny: prompt holds a secret (1)"}
}

test_secrets_deny_unknown_content_fails_closed if {
	result := route with input as with_labels("secrets", labels({}, 1)) with data.tenants as tenants
	result.allow == set()
	result.deny.eu == {"tenant secrets: secrets_deny: prompt may hold a secret: 1 part(s) could not be scanned"}
	route.allow == set() with input as input_for({}, null, "secrets", [eu]) with data.tenants as tenants
}

test_no_secret_goes_anywhere if {
	route.allow == {"eu", "us", "trains"} with input as with_labels("secrets", labels({"email": 3}, 0))
		with data.tenants as tenants
}

test_other_tenants_unaffected if {
	inp := with_labels("someone-else", labels({"secret": 1, "email": 1}, 0))
	route.allow == {"eu", "us", "trains"} with input as inp with data.tenants as tenants
	not data.sovereign.route.obligations with input as inp with data.tenants as tenants
}

test_redact_outside_eu_is_an_obligation if {
	inp := with_labels("redact", labels({"email": 2, "iban": 1, "secret": 1}, 0))
	route.allow == {"eu", "us", "trains"} with input as inp with data.tenants as tenants
	data.sovereign.route.obligations == {"us": {"redact": ["email", "iban"]}, "trains": {"redact": ["email", "iban"]}} with input as inp
		with data.tenants as tenants
}

test_redact_unknown_content_names_every_category if {
	inp := with_labels("redact", null)
	obligations := data.sovereign.route.obligations with input as inp with data.tenants as tenants
	obligations.us.redact == ["email", "iban", "ip_address", "national_id", "payment_card", "phone"]
	not obligations.eu
}

test_redact_without_personal_data_no_obligation if {
	not data.sovereign.route.obligations with input as with_labels("redact", labels({"secret": 1}, 0))
		with data.tenants as tenants
}

test_same_decision_by_ids if {
	inp := with_labels("pii", labels({"email": 1}, 0))
	result := route with input as as_sent(inp) with data.catalog as as_catalog(inp) with data.tenants as tenants
	result.allow == {"eu"}
	inp2 := with_labels("redact", labels({"email": 1}, 0))
	data.sovereign.route.obligations == {"us": {"redact": ["email"]}, "trains": {"redact": ["email"]}} with input as as_sent(inp2)
		with data.catalog as as_catalog(inp2)
		with data.tenants as tenants
}
