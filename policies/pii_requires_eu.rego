# Tenant option `pii_requires_eu` from data.json (`tenants.<t>.pii_requires_eu: true`): a
# request that carries personal data (the detectors found an e-mail address, a phone number,
# an IBAN, a card number, a national identifier, an IP address… — any category but
# "secret") goes only to endpoints processed in the EU/EEA that do not train on prompts.
# Content that was not scanned (no detector, a PDF) may hold personal data: the rule applies.
# Requests without personal data are not affected.
#
# With `pii_redact_outside_eu: true` beside it, an endpoint outside the EU/EEA (or training)
# is not denied but allowed with an obligation (route.rego `obligations`): the router masks
# the personal data found before the prompt leaves and restores it in the answer; when it
# cannot (no detector, a part it cannot scan) it excludes the endpoint.
# Reasons start with "tenant <name>: pii_requires_eu: personal data (email 1): ".
package sovereign.checks

import data.sovereign.lib

applied contains [concat("", [lib.tenant_prefix, "pii_requires_eu: ", lib.personal_data_text, ": "]), attribute] if {
	lib.tenant.pii_requires_eu == true
	not lib.tenant.pii_redact_outside_eu == true
	lib.personal_data
	some attribute in [["residency", "eu"], "training"]
}
