# What the request asks for beyond routing preferences: the retention parameters the policy
# may permit, and the media (non-text input modalities) it carries. Helpers of the shipped
# rules (route.rego's permitted_parameters, media_region.rego).
package sovereign.lib

# The retention parameters (`store`, `prompt_cache_key`, `prompt_cache_retention`) the
# principal's tenant may send, as a set: `tenants.<t>.permitted_parameters` in data.json.
# None by default (no tenant entry, no list), and none at all when the request or the tenant
# asks for zero data retention or no data collection, whatever the list says: storing a
# completion or caching a prompt is retention.
permitted_parameters := {p | some p in tenant.permitted_parameters; is_string(p)} if not retention_refused

retention_refused if input.request.provider.zdr == true

retention_refused if input.request.provider.data_collection == "deny"

retention_refused if tenant.require_zdr == true

# The request's non-text input modalities ("image", "audio", "file") as text, "image, file";
# undefined when it carries only text (or the input has no modalities: old inputs, replays).
request_media := concat(", ", media) if {
	media := [m | some m in input.request.modalities; m != "text"]
	media != []
}
