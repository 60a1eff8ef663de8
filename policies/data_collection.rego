# Request-level `provider.data_collection: "deny"` (OpenRouter's name): the endpoint may
# neither retain nor train on prompts. Persistent caching counts as retention here too.
package sovereign.route

import data.sovereign.lib

deny[ep.id] contains concat("", ["data_collection: ", msg]) if {
	input.request.provider.data_collection == "deny"
	some ep in input.endpoints
	msg := lib.retention_problem(ep)
}

deny[ep.id] contains concat("", ["data_collection: ", msg]) if {
	input.request.provider.data_collection == "deny"
	some ep in input.endpoints
	msg := lib.caching_problem(ep)
}

deny[ep.id] contains concat("", ["data_collection: ", msg]) if {
	input.request.provider.data_collection == "deny"
	some ep in input.endpoints
	msg := lib.training_problem(ep)
}
