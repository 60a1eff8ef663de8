# Sovereign Router policy: which candidate endpoints may receive a request.
#
# Entrypoint `sovereign/route`, evaluated once per request (DESIGN §5). Input:
#   {request: {model, models, provider: {zdr, data_collection, …}, region, labels, …},
#    principal: {tenant, workload, roles}, endpoints: [effective attributes…], now}
# Output (this package's document):
#   allow: set of endpoint ids that no rule denies
#   deny:  endpoint id → set of reasons, each "<rule>: <what> (source: endpoint|provider|assumed)"
#
# Rules live one concern per file (zdr.rego, data_collection.rego, residency.rego,
# tenant.rego) and add reasons to `deny`. Only `allow` and `deny` may be defined in this
# package: everything else here would become part of the output; helpers belong in
# package sovereign.lib.
package sovereign.route

allow contains ep.id if {
	some ep in input.endpoints
	not deny[ep.id]
}
