# Request-level zero data retention (`provider.zdr: true`, OpenRouter's name): the endpoint
# must not retain prompts. In-memory prompt caching is allowed; persistent caching counts
# as retention. Unknown retention or caching is the worst case.
package sovereign.route

import data.sovereign.lib

deny[id] contains concat("", ["zdr: ", msg]) if {
	input.request.provider.zdr == true
	some [id, msg] in lib.retention_problems
}

deny[id] contains concat("", ["zdr: ", msg]) if {
	input.request.provider.zdr == true
	some [id, msg] in lib.caching_problems
}
