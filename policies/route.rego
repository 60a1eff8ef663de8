# Sovereign Router policy: which candidate endpoints may receive a request.
#
# Entrypoint `sovereign/route`, evaluated once per request (docs/architecture.md §5). Input:
#   {request: {model, models, provider: {zdr, data_collection, …}, region, labels, …},
#    principal: {tenant, workload, roles}, endpoint_at: [candidate positions…], now}
# with the catalog loaded once per catalog revision (data.catalog.ids: endpoint ids in order,
# which endpoint_at indexes; data.catalog.endpoints: effective attributes by id), or
# `endpoints: [effective attributes…]` in place of `endpoint_at` (opa test fixtures,
# replays). Rules read the candidates through `lib.endpoints` and `lib.endpoint_ids`.
#
# The shipped rules live one concern per file (zdr.rego, data_collection.rego,
# residency.rego, tenant.rego): each adds to data.sovereign.checks.applied the checks the
# request or the tenant calls for, worked out once per evaluation; each candidate is then
# examined once per attribute those checks name (lib.checks). Other rules may add reasons
# to `deny` directly (docs/policies.md §3).
#
# Output (this package's document):
#   allow:    [position…] of the candidates that no check and no rule denies, in candidate
#             order (positions in the candidates as given: written out of Wasm, a number
#             costs less than an id)
#   checks:   [[reason prefix…]…], one entry per attribute examined
#   keys:     per check, its index in an endpoint's known problems (lib.static_attributes;
#             null: examined per request)
#   problems: one entry per candidate, in candidate order: [] when it has no problem, else
#             [[index into checks, message] or index into checks…]; each reason is a prefix
#             of checks[index] followed by the message ("zdr: " + "endpoint retains prompts
#             for 30 days (source: provider)"); a bare index means the message is the
#             candidate's known problem at keys[index] (data.catalog.problems_at, loaded
#             with the catalog from lib.catalog_problems), which the engine holds too. By
#             position rather than by id: the answer carries no ids and no object to sort
#             (docs/policies.md §9)
#   deny:     endpoint id → set of reasons, from rules that add them directly (absent
#             when there are none)
#   prefer_local: true when the tenant's data asks for local endpoints first
#             (`tenants.<t>.prefer_local`); absent otherwise. The router then plans local
#             endpoints first, as for the request preference `provider.prefer_local`.
#   permitted_parameters: [name…], the retention parameters of input.request.retention_parameters
#             the policy permits (lib.permitted_parameters); absent when the request uses
#             none. The router sends none that is not listed (fail closed).
#   obligations: endpoint id → {"redact": [category…]}, what the router must do before
#             sending the request there (lib.pii_redact, pii_requires_eu.rego); absent when
#             none. An obligation the router cannot apply excludes the endpoint (fail closed).
# A reason reads "<rule>: <what> (source: endpoint|provider|assumed)". Reasons go out of
# Wasm as prefix and message rather than joined: written out, the joined strings cost more
# than the rules (see docs/policies.md §9).
# Only these may be defined in this package: everything else here would become part of
# the output; helpers belong in package sovereign.lib.
package sovereign.route

import data.sovereign.lib

checks := [prefixes | some [_, prefixes] in lib.checks]

keys := lib.split_checks.keys

# Two definitions, one for a request whose checks are all known with the catalog, one for a
# request with checks examined per request (exactly one applies).
problems := [found |
	some i, key in lib.candidate_keys
	found := lib.known_problems_at(i, key, known, known_keys, known_index, every_check)
] if {
	checks := lib.split_checks
	checks.live == []
	known_keys := checks.known_keys
	known_index := checks.known_index
	every_check := checks.all
	known := lib.known_problems
}

problems := [found |
	some i, key in lib.candidate_keys
	found := lib.problems_at(i, key, known, known_keys, known_index, live, every_check)
] if {
	# Taken out of the object once here: in the comprehension, each is a hashed lookup per candidate.
	checks := lib.split_checks
	live := checks.live
	live != []
	known_keys := checks.known_keys
	known_index := checks.known_index
	every_check := checks.all
	known := lib.known_problems
}

allow := [i |
	some i, found in problems
	found == []
	not denied[i]
] if {
	# One problems entry per candidate, or no allow at all (a malformed answer).
	count(problems) == count(lib.candidate_keys)

	# The candidates' ids are looked at only when a rule denies directly.
	denied := {i | some id, _ in data.sovereign.route.deny; some i, candidate in lib.endpoint_ids; candidate == id}
}

permitted_parameters := [p |
	some p in input.request.retention_parameters
	lib.permitted_parameters[p]
] if {
	input.request.retention_parameters != []
}

obligations := {ep.id: {"redact": lib.redact_categories} |
	some ep in lib.endpoints
	lib.outside_eu_or_trains(ep)
} if {
	lib.pii_redact
}

prefer_local if lib.tenant.prefer_local == true
