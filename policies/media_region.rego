# Tenant option `media_region` from data.json (`tenants.<t>.media_region: "eu"`): a request
# that carries images, audio or files (input.request.modalities beyond "text") goes only to
# endpoints processed in that region; text-only requests are not affected. For a tenant
# that lets text go anywhere but keeps documents, scans and recordings in the region. The
# endpoint is judged as residency.rego judges it (unknown residency matches no region).
# Reasons start with "tenant <name>: media_region: <modalities> input: ".
package sovereign.checks

import data.sovereign.lib

applied contains [prefix, ["residency", region]] if {
	region := lower(lib.tenant.media_region)
	prefix := concat("", [lib.tenant_prefix, "media_region: ", lib.request_media, " input: "])
}
