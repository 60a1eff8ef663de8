# Request-level residency (`region`, e.g. "eu"): only endpoints whose prompts are
# processed in that region. Fails closed: unknown residency matches no region. For
# regions listed in data.regions (eu = EU/EEA), a known country must be on the list.
package sovereign.route

import data.sovereign.lib

deny[id] contains concat("", ["residency: ", msg]) if {
	region := lib.request_region
	some [id, msg] in lib.residency_problems[region]
}
