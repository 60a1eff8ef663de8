# Tenant rules from data.json (`tenants.<principal.tenant>`), applied whatever the
# request asks for:
#   require_zdr          true → as request-level zdr
#   require_no_training  true → the endpoint must not (be assumed to) train on prompts
#   require_region       "eu" → as request-level region
#   allowed_headquarters ["DE", …] → only providers headquartered in these jurisdictions
# Reasons start with "tenant <name>: <rule>: ".
package sovereign.checks

import data.sovereign.lib

applied contains [concat("", [lib.tenant_prefix, "zdr: "]), "retention"] if lib.tenant.require_zdr == true

applied contains [concat("", [lib.tenant_prefix, "zdr: "]), "caching"] if lib.tenant.require_zdr == true

applied contains [concat("", [lib.tenant_prefix, "training: "]), "training"] if {
	lib.tenant.require_no_training == true
}

applied contains [concat("", [lib.tenant_prefix, "residency: "]), ["residency", region]] if {
	region := lower(lib.tenant.require_region)
}

applied contains [concat("", [lib.tenant_prefix, "headquarters: "]), lib.headquarters_attribute(listed)] if {
	listed := lib.tenant.allowed_headquarters
}
