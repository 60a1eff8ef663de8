# Local inference only: with the request preference `provider.local_only: true`, or the
# tenant's `local_only: true` in data.json, every endpoint outside this deployment is
# excluded — local means the in-process runtime (`api: local`) or an OpenAI-compatible
# runtime on a loopback or private address (the endpoint's `local` attribute, from the
# catalog). Reasons: "local_only: endpoint is remote: …", for the tenant rule
# "tenant <name>: local_only: …".
#
# `prefer_local` (the request's, or the tenant's through route.rego's `prefer_local` output)
# excludes nothing: it orders the plan, local endpoints first.
package sovereign.checks

import data.sovereign.lib

applied contains ["local_only: ", "local"] if input.request.provider.local_only == true

applied contains [concat("", [lib.tenant_prefix, "local_only: "]), "local"] if lib.tenant.local_only == true
