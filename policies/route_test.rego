package sovereign.route_test

import data.sovereign.fixtures.as_catalog
import data.sovereign.fixtures.as_sent
import data.sovereign.fixtures.catalog_of
import data.sovereign.fixtures.endpoint
import data.sovereign.fixtures.input_for
import data.sovereign.fixtures.route
import data.sovereign.fixtures.with_problems
import data.sovereign.lib

mixed := [
	endpoint("ok", {}),
	endpoint("retains", {"retention_days": {"value": 30, "source": "provider"}}),
	endpoint("us", {"residency": {"value": {"region": "us", "country": "US"}, "source": "endpoint"}}),
	json.remove(endpoint("unknown", {}), ["retention_days", "trains_on_data", "residency", "caching"]),
]

strict_input := input_for({"zdr": true, "data_collection": "deny"}, "eu", "acme-health", mixed)

test_decision_has_only_allow_and_deny if {
	result := route with input as strict_input
	{k | some k, _ in result} == {"allow", "deny"}
}

# The document the engine reads: allow, checks, keys and problems, and deny as soon as a
# rule adds reasons directly (docs/policies.md §3: id → non-empty set of reasons); each id
# appears once in allow, each check at most once per endpoint, every problem names a check
# and a message, and problems has one entry per candidate (empty: no problem).
test_route_document_shape if {
	every inp in [strict_input, input_for({}, null, "t", mixed), input_for({"zdr": true}, "eu", "bund-gov", mixed)] {
		doc := data.sovereign.route with input as inp
		{k | some k, _ in doc} - {"deny", "permitted_parameters"} == {"allow", "checks", "keys", "problems"}
		every _, reasons in object.get(doc, "deny", {}) {
			is_set(reasons)
			count(reasons) > 0
			every r in reasons {
				is_string(r)
				r != ""
			}
		}
		is_array(doc.allow)
		count(doc.allow) == count({id | some id in doc.allow})
		count(doc.problems) == count(data.sovereign.lib.endpoint_ids) with input as inp
		every found in doc.problems {
			count(found) == count({i | some [i, _] in found})
			every entry in found {
				is_array(entry)
				count(doc.checks[entry[0]]) > 0
				is_string(entry[1])
				entry[1] != ""
			}
		}
	}
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
			regex.match(`^(tenant [^:]+: )?(zdr|data_collection|residency|training|headquarters): .+ \(source: (endpoint|provider|runtime|assumed)\)$`, r)
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

# The router passes endpoint ids and loads the endpoints into data once per catalog
# revision; the decision must be exactly the one for the endpoints passed inline.
test_endpoint_ids_with_catalog_data_decide_as_inline_endpoints if {
	every inp in [
		strict_input,
		input_for({}, null, "t", mixed),
		input_for({"zdr": true}, null, "bund-gov", mixed),
		input_for({"data_collection": "deny"}, "eu", "t", mixed),
		input_for({"zdr": true}, "us", "acme-health", mixed),
	] {
		inline := route with input as inp
		by_id := route with input as as_sent(inp) with data.catalog as as_catalog(inp)
		by_id == inline
		problems := data.sovereign.lib.catalog_problems with input as {"endpoints": inp.endpoints}
		with_known := route with input as as_sent(inp)
			with data.catalog as with_problems(as_catalog(inp), problems)
		with_known == inline
	}
}

# The engine loads lib.catalog_problems into data.catalog.problems_at once per catalog; a
# request by positions then reads the request-independent problems from there.
test_endpoint_ids_read_problems_loaded_with_the_catalog if {
	inp := input_for({"zdr": true}, null, "t", [endpoint("a", {})])

	# retention, caching, training, residency in eu (lib.static_attributes)
	problems := {"a": ["loaded (source: assumed)", null, null, null]}
	result := route with input as as_sent(inp)
		with data.catalog as with_problems(as_catalog(inp), problems)
	result.deny.a == {"zdr: loaded (source: assumed)"}
	doc := data.sovereign.route with input as as_sent(inp)
		with data.catalog as with_problems(as_catalog(inp), problems)
	doc.keys == [1, 0]
	doc.problems == [[1]]
	doc.allow == []
	inline := route with input as inp with data.catalog as with_problems(as_catalog(inp), problems)
	inline.allow == {"a"}
}

test_catalog_problems_hold_every_request_independent_attribute if {
	unknown := json.remove(endpoint("u", {}), ["retention_days", "trains_on_data", "residency", "caching", "provider_headquarters"])
	elsewhere := json.patch(endpoint("x", {}), [{"op": "replace", "path": "/provider_headquarters", "value": "us"}])
	problems := data.sovereign.lib.catalog_problems with input as {"endpoints": [endpoint("ok", {}), unknown, elsewhere]}

	# The regions of data.regions, then each tenant's allowed_headquarters (bund-gov's).
	hq := ["headquarters", {"AT", "BE", "DE", "FR", "LU", "NL"}, "AT, BE, DE, FR, LU, NL"]
	lib.static_attributes == ["retention", "caching", "training", ["residency", "eu"], hq]
	problems.ok == [null, null, null, null, null]
	problems.u == [
		"retention unknown, assumed indefinite (source: assumed)",
		"caching unknown, assumed persistent (source: assumed)",
		"training unknown, assumed to train on prompts (source: assumed)",
		"residency unknown, matches no region; eu required (source: assumed)",
		"provider headquarters unknown; allowed: AT, BE, DE, FR, LU, NL (source: assumed)",
	]
	problems.x[4] == "provider acme-ai headquartered in US; allowed: AT, BE, DE, FR, LU, NL (source: provider)"
}

test_endpoint_ids_only_catalog_endpoints_of_the_request_are_candidates if {
	catalog := catalog_of(array.concat(mixed, [endpoint("other", {})]))
	result := route with input as as_sent(strict_input) with data.catalog as catalog
	result.allow == {"ok"}
	not result.deny.other
}

# The engine never sends a position its loaded catalog lacks; should one come, the answer
# has no allow (a malformed answer: the router fails the request closed), never a misplaced one.
test_endpoint_position_missing_from_catalog_leaves_no_allow if {
	inp := input_for({}, null, "t", [endpoint("a", {}), endpoint("b", {})])
	doc := data.sovereign.route with input as as_sent(inp) with data.catalog as catalog_of([endpoint("a", {})])
	not doc.allow
	count(doc.problems) == 1
}

# The same when checks are examined per request (region us is not in data.regions) and the
# missing position comes first, so lib.endpoints is out of step with the positions: no
# candidate takes another's endpoint, and still no allow, with or without known problems for
# the others.
test_endpoint_position_missing_from_catalog_ahead_of_others_leaves_no_allow if {
	inp := object.union(as_sent(input_for({}, "us", "t", [endpoint("b", {}), endpoint("a", {})])), {"endpoint_at": [1, 0]})
	catalog := catalog_of([endpoint("a", {})])
	doc := data.sovereign.route with input as inp with data.catalog as catalog
	not doc.allow
	count(doc.problems) < 2
	known := {"a": [null | some _ in data.sovereign.lib.static_attributes]}
	doc2 := data.sovereign.route with input as inp with data.catalog as with_problems(catalog, known)
	not doc2.allow
	count(doc2.problems) < 2
}

# A rule that denies directly names the endpoint by id; allow leaves out its position.
test_allow_is_positions_without_the_directly_denied if {
	inp := input_for({}, null, "t", [endpoint("a", {}), endpoint("b", {}), endpoint("c", {})])
	doc := data.sovereign.route with input as as_sent(inp)
		with data.catalog as as_catalog(inp)
		with data.sovereign.route.deny as {"b": {"custom: no"}}
	doc.allow == [0, 2]
	inline := data.sovereign.route with input as inp with data.sovereign.route.deny as {"b": {"custom: no"}}
	inline.allow == [0, 2]
}

test_inline_endpoints_take_precedence_over_catalog_data if {
	inp := input_for({"zdr": true}, null, "t", [endpoint("a", {})])
	catalog := {"a": endpoint("a", {"retention_days": {"value": 30, "source": "provider"}})}
	result := route with input as inp with data.catalog.endpoints as catalog
	result.allow == {"a"}
}

# lib.split_checks: the checks whose problems come with the catalog, as their keys and their
# indexes into lib.checks (two arrays in the same order), and the checks examined per request.
test_split_checks_pair_known_keys_with_their_indexes if {
	inp := input_for({"zdr": true}, "us", "bund-gov", [endpoint("a", {})])
	split := data.sovereign.lib.split_checks with input as inp
	checks := data.sovereign.lib.checks with input as inp
	count(split.known_keys) == count(split.known_index)
	every j, key in split.known_keys {
		lib.known_key(checks[split.known_index[j]][0]) == key
	}

	# bund-gov's headquarters rule is known with the catalog; a region outside data.regions is not.
	split.known_keys == [1, 0, 4]
	[attribute | some [_, attribute] in split.live] == [["residency", "us"]]
	count(split.all) == count(checks)
}

# By ids, a check's key is read from the keys loaded with the catalog (lib.attribute_keys):
# the same keys as walking static_attributes, headquarters (a set inside) included; an
# attribute the loaded keys lack is examined per request. Inline, the loaded keys are not read.
test_known_keys_come_from_the_keys_loaded_with_the_catalog if {
	inp := input_for({"zdr": true}, "us", "bund-gov", [endpoint("a", {})])
	loaded := data.sovereign.lib.attribute_keys
	count(loaded) == count(lib.static_attributes)
	split := data.sovereign.lib.split_checks with input as as_sent(inp) with data.catalog.attribute_keys as loaded
	split.known_keys == [1, 0, 4]
	[attribute | some [_, attribute] in split.live] == [["residency", "us"]]

	# Whatever is loaded is what counts: retention at 7, the rest unknown.
	other := {json.marshal("retention"): 7}
	lib.known_key("retention") == 7 with input as as_sent(inp) with data.catalog.attribute_keys as other
	not lib.known_key("caching") with input as as_sent(inp) with data.catalog.attribute_keys as other
	lib.known_key("caching") == 1 with input as inp with data.catalog.attribute_keys as other
}

# Inline endpoints are examined here whatever data.catalog.problems_at holds:
# lib.known_problems is empty for them.
test_known_problems_are_empty_for_inline_endpoints if {
	inp := input_for({}, null, "t", [endpoint("a", {})])
	known := data.sovereign.lib.known_problems with input as inp with data.catalog.problems_at as [[]]
	known == {}
	by_position := data.sovereign.lib.known_problems with input as as_sent(inp) with data.catalog.problems_at as [[]]
	by_position == [[]]
}
