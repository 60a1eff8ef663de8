# Tenant rules from data.json (`tenants.<principal.tenant>`), applied whatever the
# request asks for:
#   require_zdr          true → as request-level zdr
#   require_no_training  true → the endpoint must not (be assumed to) train on prompts
#   require_region       "eu" → as request-level region
#   allowed_headquarters ["DE", …] → only providers headquartered in these jurisdictions
# Reasons start with "tenant <name>: <rule>: ".
package sovereign.route

import data.sovereign.lib

deny[id] contains concat("", [lib.tenant_prefix, "zdr: ", msg]) if {
	lib.tenant.require_zdr == true
	some [id, msg] in lib.retention_problems
}

deny[id] contains concat("", [lib.tenant_prefix, "zdr: ", msg]) if {
	lib.tenant.require_zdr == true
	some [id, msg] in lib.caching_problems
}

deny[id] contains concat("", [lib.tenant_prefix, "training: ", msg]) if {
	lib.tenant.require_no_training == true
	some [id, msg] in lib.training_problems
}

deny[id] contains concat("", [lib.tenant_prefix, "residency: ", msg]) if {
	region := lower(lib.tenant.require_region)
	some [id, msg] in lib.residency_problems[region]
}

deny[ep.id] contains concat("", [lib.tenant_prefix, "headquarters: ", msg]) if {
	listed := lib.tenant.allowed_headquarters
	allowed := {upper(c) | some c in listed}
	some ep in lib.endpoints
	msg := lib.headquarters_problem(ep, allowed)
}
