# Tenant option `secrets_deny` from data.json (`tenants.<t>.secrets_deny: true`): a request
# that carries a secret (a private key, a cloud or API key, a token, a password in a
# connection string, as the detectors find them) goes nowhere: every endpoint is denied.
# Content that was not scanned (no detector, a PDF) may hold one: denied too.
# Reasons start with "tenant <name>: secrets_deny: ".
package sovereign.checks

import data.sovereign.lib

applied contains [concat("", [lib.tenant_prefix, "secrets_deny: "]), ["content", lib.secret_text]] if {
	lib.tenant.secrets_deny == true
	lib.secret
}
