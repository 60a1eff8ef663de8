# Sovereign Router policy: which candidate endpoints may receive a request.
#
# Entrypoint `sovereign/route`, evaluated once per request (DESIGN §5). Input:
#   {request: {model, models, provider: {zdr, data_collection, …}, region, labels, …},
#    principal: {tenant, workload, roles}, endpoint_ids: [candidate ids…], now}
# with the candidates' effective attributes in data.catalog.endpoints (loaded once per
# catalog revision), or `endpoints: [effective attributes…]` in place of `endpoint_ids`
# (opa test fixtures, replays). Rules read the candidates through `lib.endpoints`.
# Output (this package's document):
#   allow: set of endpoint ids that no rule denies
#   deny:  endpoint id → set of reasons, each "<rule>: <what> (source: endpoint|provider|assumed)"
#
# Rules live one concern per file (zdr.rego, data_collection.rego, residency.rego,
# tenant.rego) and add reasons to `deny`. Only `allow` and `deny` may be defined in this
# package: everything else here would become part of the output; helpers belong in
# package sovereign.lib.
package sovereign.route

import data.sovereign.lib

allow := lib.endpoint_ids - {id | some id, _ in deny}
