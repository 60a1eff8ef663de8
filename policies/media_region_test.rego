# Tests of media_region.rego: a tenant's images, audio and files stay in its region.
package sovereign.media_region_test

import data.sovereign.fixtures.as_catalog
import data.sovereign.fixtures.as_sent
import data.sovereign.fixtures.endpoint
import data.sovereign.fixtures.input_for
import data.sovereign.fixtures.route

tenants := {"media-eu": {"media_region": "EU"}, "both": {"media_region": "eu", "require_region": "eu"}}

eu := endpoint("eu", {})

us := endpoint("us", {"residency": {"value": {"region": "us", "country": "US"}, "source": "endpoint"}})

unknown := json.remove(endpoint("unknown", {}), ["residency"])

# A request of `tenant` carrying `modalities`, to the endpoints above.
carrying(tenant, modalities) := object.union(
	input_for({}, null, tenant, [eu, us, unknown]),
	{"request": {"modalities": modalities}},
)

test_media_only_to_endpoints_in_the_region if {
	result := route with input as carrying("media-eu", ["text", "image"]) with data.tenants as tenants
	result.allow == {"eu"}
	result.deny.us == {"tenant media-eu: media_region: image input: endpoint processed in region us (country US), eu required (source: endpoint)"}
	result.deny.unknown == {"tenant media-eu: media_region: image input: residency unknown, matches no region; eu required (source: assumed)"}
}

test_names_every_media_modality if {
	result := route with input as carrying("media-eu", ["text", "audio", "file"]) with data.tenants as tenants
	result.deny.us == {"tenant media-eu: media_region: audio, file input: endpoint processed in region us (country US), eu required (source: endpoint)"}
}

test_text_goes_anywhere if {
	route.allow == {"eu", "us", "unknown"} with input as carrying("media-eu", ["text"]) with data.tenants as tenants
	route.allow == {"eu", "us", "unknown"} with input as input_for({}, null, "media-eu", [eu, us, unknown])
		with data.tenants as tenants
}

test_other_tenants_unaffected if {
	route.allow == {"eu", "us", "unknown"} with input as carrying("someone-else", ["image"]) with data.tenants as tenants
}

test_media_region_beside_require_region_reports_both if {
	result := route with input as carrying("both", ["image"]) with data.tenants as tenants
	result.deny.us == {
		"tenant both: residency: endpoint processed in region us (country US), eu required (source: endpoint)",
		"tenant both: media_region: image input: endpoint processed in region us (country US), eu required (source: endpoint)",
	}
}

test_same_decision_by_ids if {
	inp := carrying("media-eu", ["image"])
	result := route with input as as_sent(inp) with data.catalog as as_catalog(inp) with data.tenants as tenants
	result.allow == {"eu"}
	count(result.deny.us) == 1
}
