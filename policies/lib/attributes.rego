# Normalised views of the effective endpoint attributes (docs/architecture.md §4) and the problems
# the rules report. Every helper answers the worst case when a value is missing, null
# or not understood: retention indefinite, training on prompts, caching persistent,
# residency matching no region.
#
# Helpers return `null` instead of being undefined so that a missing attribute can
# never make a deny rule silently not fire.
package sovereign.lib

# --- the candidates ---

# The candidate endpoints, each with its effective attributes (docs/policies.md §1).
# Rules iterate `lib.endpoints`, never `input.endpoints` directly: the router loads the
# catalog into data once per catalog revision — its endpoint ids in order
# (`data.catalog.ids`), the endpoints by id (`data.catalog.endpoints`) — and passes only the
# candidates' positions in `data.catalog.ids` (`input.endpoint_at`: small numbers to parse,
# and array reads instead of hashed lookups per candidate); an input that carries the
# endpoints itself (`input.endpoints`: opa test fixtures, replays) is used as it is.
endpoints := input.endpoints if {
	input.endpoints
} else := [data.catalog.endpoints[data.catalog.ids[at]] | some at in input.endpoint_at]

# The candidate ids, in order (a position the loaded catalog lacks has no id: this is then
# shorter than input.endpoint_at, and route.allow, which checks, undefined: the router
# fails the request closed).
endpoint_ids := [data.catalog.ids[at] | some at in input.endpoint_at] if {
	not input.endpoints
} else := [ep.id | some ep in endpoints]

# How route.problems names each candidate: by its position in data.catalog.ids
# (input.endpoint_at) or, for inline endpoints, by its id.
candidate_keys := input.endpoint_at if {
	not input.endpoints
} else := endpoint_ids

# Where an attribute's value came from, as reported in deny reasons.
# "runtime": established by construction for an endpoint the router runs in-process (api local).
source(attr) := "endpoint" if {
	attr.source == "endpoint"
} else := "provider" if {
	attr.source == "provider"
} else := "runtime" if {
	attr.source == "runtime"
} else := "assumed"

# Retention in days, or null when unknown (= retained indefinitely).
retention_days(ep) := d if {
	d := ep.retention_days.value
	is_number(d)
	d >= 0
} else := null

# true/false, or null when unknown (= trains on prompts).
trains_on_data(ep) := t if {
	t := ep.trains_on_data.value
	is_boolean(t)
} else := null

# "none" | "in_memory" | "persistent", or null when unknown or not understood.
caching(ep) := c if {
	c := ep.caching.value
	known_caching[c]
} else := null

known_caching := {"none", "in_memory", "persistent"}

# Lower-case processing region, or null when unknown (= matches no region).
residency_region(ep) := lower(r) if {
	r := ep.residency.value.region
	is_string(r)
	r != ""
} else := null

# Upper-case processing country (ISO 3166-1 alpha-2), or null when unknown.
residency_country(ep) := upper(c) if {
	c := ep.residency.value.country
	is_string(c)
	c != ""
} else := null

# Upper-case headquarters country of the endpoint's provider, or null when unknown.
headquarters(ep) := upper(h) if {
	h := ep.provider_headquarters
	is_string(h)
	h != ""
} else := null

# --- problems: each returns one message, or is undefined when the attribute is fine ---
#
# Each normalised value is computed once and handed to a message function with one
# definition per case (cheaper than re-evaluating the helper in every `else` branch).

# The endpoint keeps prompts (any retention, or unknown retention).
retention_problem(ep) := retention_message(retention_days(ep), ep)

retention_message(null, _) := "retention unknown, assumed indefinite (source: assumed)"

retention_message(d, ep) := concat("", ["endpoint retains prompts for ", format_int(d, 10), " days (source: ", source(ep.retention_days), ")"]) if {
	d != null
	d > 0
}

# The endpoint caches prompts persistently (counts as retention) or may do so.
caching_problem(ep) := caching_message(caching(ep), ep)

caching_message(null, _) := "caching unknown, assumed persistent (source: assumed)"

caching_message("persistent", ep) := concat("", ["endpoint caches prompts persistently (source: ", source(ep.caching), ")"])

# The endpoint trains on prompts or may do so.
training_problem(ep) := training_message(trains_on_data(ep), ep)

training_message(null, _) := "training unknown, assumed to train on prompts (source: assumed)"

training_message(true, ep) := concat("", ["endpoint trains on prompts (source: ", source(ep.trains_on_data), ")"])

# The endpoint is not processed in `region` (fails closed on unknown residency). When
# data.regions lists the region's countries, a known country must be one of them.
residency_problem(ep, region) := residency_message(residency_region(ep), residency_country(ep), region, ep)

residency_message(null, _, region, _) := concat("", ["residency unknown, matches no region; ", region, " required (source: assumed)"])

residency_message(r, c, region, ep) := concat("", [
	"endpoint processed in region ", r, country_suffix(c), ", ", region,
	" required (source: ", source(ep.residency), ")",
]) if {
	r != null
	r != region
}

residency_message(r, c, region, ep) := concat("", [
	"endpoint processed in ", c, ", not a country of region ", region,
	" (source: ", source(ep.residency), ")",
]) if {
	r == region
	c != null
	countries := data.regions[region].countries
	not countries[c]
}

country_suffix(null) := ""

country_suffix(c) := concat("", [" (country ", c, ")"]) if c != null

# The provider is not headquartered in one of `allowed` (a set of country codes, listed
# in reasons as `listed`).
headquarters_problem(ep, allowed, listed) := headquarters_message(headquarters(ep), ep, allowed, listed)

headquarters_message(null, _, _, listed) := concat("", ["provider headquarters unknown; allowed: ", listed, " (source: assumed)"])

headquarters_message(h, ep, allowed, listed) := concat("", [
	"provider ", ep.provider, " headquartered in ", h, "; allowed: ", listed, " (source: provider)",
]) if {
	h != null
	not h in allowed
}

# The endpoint runs outside this deployment: neither in-process (`api: local`) nor an
# OpenAI-compatible runtime on a loopback or private address. `ep.local` comes from the
# catalog (src/catalog/locality.ts); missing or anything but true counts as remote.
local_problem(ep) := "endpoint is remote: not in-process, not on a loopback or private address (source: catalog)" if {
	not ep.local == true
}

# --- the checks of this request, and each candidate's reasons ---
#
# A check is [reason prefix, attribute]; the rule files add the checks the request and
# the tenant call for to data.sovereign.checks.applied (a set, so a check asked for twice
# is made once). Attributes: "retention", "caching", "training", ["residency", region],
# ["headquarters", allowed countries, the same as text].

# The checks grouped by attribute, [[attribute, [reason prefix…]]…], made once per
# evaluation: each attribute of a candidate is examined once however many rules ask for
# it (zdr, data_collection and tenant rules all ask for retention). Arrays, because
# iterating a set in Wasm hashes every element on every step.
checks := [[attribute, prefixes] |
	some attribute in {a | some a in attributes}
	prefixes := [prefixes_applied[j] | some j, a in attributes; a == attribute]
] if {
	applied := [c | some c in data.sovereign.checks.applied]
	prefixes_applied := [p | some [p, _] in applied]
	attributes := [a | some [_, a] in applied]
}

# The problem `attribute` has at `ep`, undefined when it is fine.
problem(ep, "retention") := retention_problem(ep)

problem(ep, "caching") := caching_problem(ep)

problem(ep, "training") := training_problem(ep)

problem(ep, ["residency", region]) := residency_problem(ep, region)

problem(ep, ["headquarters", allowed, listed]) := headquarters_problem(ep, allowed, listed)

problem(ep, "local") := local_problem(ep)

# [[index into checks, message]…] for the attributes with a problem at candidate `at` (named
# `key` in lib.candidate_keys), [] when none; only the index for a problem read from
# known_problems (not written out of Wasm again: the engine holds the same data). `known_all`
# is lib.known_problems and the rest lib.split_checks' arrays, all passed in: per candidate,
# a rule referenced costs a memo lookup and a field of an object a hashed lookup. The
# attributes no request changes come from known_all when the candidate is there, the others
# are examined here — only then is the candidate's endpoint looked up (lib.endpoints is built
# on first use: a request whose checks are all known builds no array of endpoints).
problems_at(at, key, known_all, keys, index, live, all) := array.concat(
	[index[j] | some j, k in keys; is_string(known[k])],
	# Not checked to be this very candidate, as examined() does: a position without known
	# problems (the loaded catalog lacks it) is the only way lib.endpoints can be out of step
	# with the positions, and that candidate gets no problems entry (below), so the answer
	# has no allow.
	[[i, msg] | some [i, attribute] in live; msg := problem(endpoints[at], attribute)],
) if {
	known := known_all[key]
	is_array(known)
} else := examined(at, key, all)

# lib.problems_at when every check is known with the catalog (none examined per request: a
# request naming only regions of data.regions): the known problems alone, with no second
# comprehension and no array.concat per candidate (−4 % at 50 candidates, bench/findings.md
# session 23).
known_problems_at(at, key, known_all, keys, index, all) := [index[j] | some j, k in keys; is_string(known[k])] if {
	known := known_all[key]
	is_array(known)
} else := examined(at, key, all)

# The problems of candidate `at` for [index, attribute] pairs. Undefined when lib.endpoints
# does not hold that very candidate there (a position the loaded catalog lacks shifts the
# array): the candidate then has no problems entry, and the answer no allow (fail closed).
examined(at, key, attributes) := [[i, msg] |
	some [i, attribute] in attributes
	msg := problem(ep, attribute)
] if {
	ep := endpoints[at]
	ep.id == candidate_id(key)
}

# The id of the candidate named `key` in lib.candidate_keys, undefined for a position the
# loaded catalog lacks.
candidate_id(key) := data.catalog.ids[key] if {
	not input.endpoints
} else := key

# lib.checks as [index, attribute] pairs: all of them, those whose problem known_problems
# holds (their keys there and their indexes, as two arrays in the same order: per candidate,
# destructuring [index, key] pairs costs more than the lookups) and the rest; and every
# check's key or null (route's `keys`). A known problem is a string, a fine attribute null
# (`is_string` is cheaper than `!= null`).
split_checks := {
	"all": [[i, attribute] | some i, attribute in attributes],
	"keys": keys,
	"known_keys": [key | some key in keys; key != null],
	"known_index": [i | some i, key in keys; key != null],
	"live": [[i, attributes[i]] | some i, key in keys; key == null],
} if {
	attributes := [attribute | some [attribute, _] in checks]
	keys := [known_key_or_null(attribute) | some attribute in attributes]
}

# --- problems worked out once per catalog revision ---
#
# Retention, caching, training and residency in the regions of data.regions depend on the
# endpoint alone, not on the request. The engine evaluates `catalog_problems` (entrypoint
# sovereign/lib/catalog_problems) once per catalog revision with all the catalog's
# endpoints as `input.endpoints` and loads the answer into data.catalog.problems beside
# data.catalog.endpoints; requests by endpoint id then look these problems up instead of
# working them out per candidate. Inline endpoints (tests, replays) are always examined
# here, so the decision never depends on whether the data was loaded.

# Endpoint id → [problem or null…], one per static attribute (its key is its index there:
# per candidate, an array read by index costs less than an object's hashed lookup).
catalog_problems := {ep.id: [problem_or_null(ep, a) | some a in static_attributes] |
	some ep in endpoints
}

# The problems loaded with the catalog (lib.catalog_problems by position in
# data.catalog.ids), when the candidates come by position; empty otherwise (inline endpoints
# are examined per request, whatever data.catalog holds).
known_problems := data.catalog.problems_at if {
	not input.endpoints
} else := {}

# The attributes whose problems depend on the endpoint and the bundle alone: retention,
# caching, training, residency in each region of data.regions, and headquarters for each
# tenant's allowed_headquarters (tenants with the same list share one).
static_attributes := array.concat(
	array.concat(["retention", "caching", "training"], [["residency", r] | some r, _ in data.regions]),
	[a | some a in {headquarters_attribute(t.allowed_headquarters) | some t in data.tenants}],
)

# The headquarters attribute for a list of allowed jurisdictions: the set, upper case, and
# the same as sorted text for the reasons.
headquarters_attribute(listed) := ["headquarters", allowed, concat(", ", sort(allowed))] if {
	allowed := {upper(c) | some c in listed}
}

# Each static attribute, as JSON text, → its key (index) in catalog_problems. The engine
# evaluates it (entrypoint sovereign/lib/attribute_keys) once per catalog revision, beside
# catalog_problems, into data.catalog.attribute_keys: a check's key is then one lookup per
# request instead of static_attributes worked out again and walked — one entry per distinct
# allowed_headquarters of every tenant, which made an evaluation five times dearer with a
# hundred tenants (bench/findings.md, session 22).
attribute_keys := {json.marshal(a): i | some i, a in static_attributes}

# The keys loaded with the catalog, when the candidates come by position (as known_problems).
loaded_attribute_keys := data.catalog.attribute_keys if not input.endpoints

# The key of an attribute in catalog_problems, undefined for attributes not there. An
# attribute the loaded keys lack is not there (a check examined per request); without them
# (inline endpoints, tests), static_attributes is walked.
known_key(attribute) := i if {
	i := loaded_attribute_keys[json.marshal(attribute)]
} else := i if {
	not loaded_attribute_keys
	some i, a in static_attributes
	a == attribute
}

known_key_or_null(attribute) := key if {
	key := known_key(attribute)
} else := null

problem_or_null(ep, attribute) := msg if {
	msg := problem(ep, attribute)
} else := null

# --- the request and the principal ---

# The requesting principal's tenant rules from data.json, undefined for other tenants.
tenant := data.tenants[input.principal.tenant]

# The region the request asks for, lower-case, undefined when none.
request_region := lower(r) if {
	r := input.request.region
	is_string(r)
	r != ""
}

# "tenant <name>: ", the start of every reason a tenant rule gives (then "<rule>: ").
tenant_prefix := concat("", ["tenant ", input.principal.tenant, ": "])
