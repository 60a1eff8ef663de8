# Shared test fixtures: a compliant EU endpoint and a request that asks for nothing.
# (A *_test.rego file, so it is left out of the bundle.)
package sovereign.fixtures

# An endpoint that passes every shipped rule: EU (FR), no retention, no training,
# in-memory caching, provider headquartered in DE.
endpoint(id, overrides) := object.union(
	{
		"id": id,
		"provider": "acme-ai",
		"provider_headquarters": "DE",
		"model": "acme/model-1",
		"quantization": "bf16",
		"pricing": {"prompt": 1, "completion": 2},
		"context_length": 32768,
		"supported_parameters": ["temperature"],
		"retention_days": {"value": 0, "source": "endpoint"},
		"trains_on_data": {"value": false, "source": "provider"},
		"residency": {"value": {"region": "eu", "country": "FR"}, "source": "endpoint"},
		"caching": {"value": "in_memory", "source": "provider"},
	},
	overrides,
)

# A full policy input with `provider` preferences, `region` and tenant set by the caller.
input_for(provider, region, tenant, endpoints) := {
	"request": {
		"model": "acme/model-1",
		"models": [],
		"provider": provider,
		"region": region,
		"labels": {},
		"estimated_prompt_tokens": 100,
		"max_tokens": 256,
		"parameters": [],
	},
	"principal": {"tenant": tenant, "workload": "test", "roles": ["client"]},
	"endpoints": endpoints,
	"now": "2026-03-01T12:00:00Z",
}

# The same input as the router sends it: only the candidates' positions in
# data.catalog.ids, with the catalog loaded into data.catalog (see `as_catalog`).
as_sent(inp) := object.union(object.remove(inp, ["endpoints"]), {"endpoint_at": [i | some i, _ in inp.endpoints]})

# data.catalog for the endpoints of an input, in its order (the positions of `as_sent`).
as_catalog(inp) := catalog_of(inp.endpoints)

# data.catalog holding `endpoints`: their ids in order and the endpoints by id.
catalog_of(endpoints) := {"ids": [ep.id | some ep in endpoints], "endpoints": {ep.id: ep | some ep in endpoints}}

# `catalog` with the problems loaded with it: lib.catalog_problems' answer (id → problems)
# by position in its ids, as the engine loads them.
with_problems(catalog, problems) := object.union(catalog, {"problems_at": [object.get(problems, id, null) | some id in catalog.ids]})

# The decision as the engine reads it from the route document: allow as a set, deny as
# endpoint id → set of reasons, each reason of `problems` joined from its check's prefixes
# and its message, merged with the reasons rules add to `deny` directly.
route := {"allow": {data.sovereign.lib.endpoint_ids[i] | some i in doc.allow}, "deny": denied} if {
	doc := data.sovereign.route
	checked := {id: {concat("", [prefix, msg]) |
		some entry in found
		[i, msg] := problem_entry(at, entry, doc.keys)
		some prefix in doc.checks[i]
	} |
		some at, found in doc.problems
		found != []
		id := data.sovereign.lib.endpoint_ids[at]
	}
	direct := object.get(doc, "deny", {})
	denied := {id: checked_reasons |
		some id in ({id | some id, _ in checked} | {id | some id, _ in direct})
		checked_reasons := object.get(checked, id, set()) | object.get(direct, id, set())
	}
}

# [check index, message] of a problems entry: given, or a bare index whose message is the
# one loaded with the catalog for the candidate at `at`.
problem_entry(_, entry, _) := entry if is_array(entry)

problem_entry(at, i, keys) := [i, data.catalog.problems_at[input.endpoint_at[at]][keys[i]]] if is_number(i)
