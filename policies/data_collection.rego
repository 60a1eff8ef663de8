# Request-level `provider.data_collection: "deny"` (OpenRouter's name): the endpoint may
# neither retain nor train on prompts. Persistent caching counts as retention here too.
package sovereign.route

import data.sovereign.lib

deny[id] contains concat("", ["data_collection: ", msg]) if {
	input.request.provider.data_collection == "deny"
	some [id, msg] in lib.retention_problems
}

deny[id] contains concat("", ["data_collection: ", msg]) if {
	input.request.provider.data_collection == "deny"
	some [id, msg] in lib.caching_problems
}

deny[id] contains concat("", ["data_collection: ", msg]) if {
	input.request.provider.data_collection == "deny"
	some [id, msg] in lib.training_problems
}
