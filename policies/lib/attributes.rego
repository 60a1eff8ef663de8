# Normalised views of the effective endpoint attributes (DESIGN §4) and the problems
# the rules report. Every helper answers the worst case when a value is missing, null
# or not understood: retention indefinite, training on prompts, caching persistent,
# residency matching no region.
#
# Helpers return `null` instead of being undefined so that a missing attribute can
# never make a deny rule silently not fire.
package sovereign.lib

# Where an attribute's value came from, as reported in deny reasons.
source(attr) := attr.source if {
	attr.source in {"endpoint", "provider"}
} else := "assumed"

# Retention in days, or null when unknown (= retained indefinitely).
retention_days(ep) := d if {
	d := ep.retention_days.value
	is_number(d)
	d >= 0
} else := null

# true/false, or null when unknown (= trains on prompts).
trains_on_data(ep) := t if {
	t := ep.trains_on_data.value
	is_boolean(t)
} else := null

# "none" | "in_memory" | "persistent", or null when unknown or not understood.
caching(ep) := c if {
	c := ep.caching.value
	c in {"none", "in_memory", "persistent"}
} else := null

# Lower-case processing region, or null when unknown (= matches no region).
residency_region(ep) := lower(r) if {
	r := ep.residency.value.region
	is_string(r)
	r != ""
} else := null

# Upper-case processing country (ISO 3166-1 alpha-2), or null when unknown.
residency_country(ep) := upper(c) if {
	c := ep.residency.value.country
	is_string(c)
	c != ""
} else := null

# Upper-case headquarters country of the endpoint's provider, or null when unknown.
headquarters(ep) := upper(h) if {
	h := ep.provider_headquarters
	is_string(h)
	h != ""
} else := null

# --- problems: each returns one message, or is undefined when the attribute is fine ---

# The endpoint keeps prompts (any retention, or unknown retention).
retention_problem(ep) := "retention unknown, assumed indefinite (source: assumed)" if {
	retention_days(ep) == null
} else := msg if {
	d := retention_days(ep)
	d > 0
	msg := concat("", ["endpoint retains prompts for ", format_int(d, 10), " days (source: ", source(ep.retention_days), ")"])
}

# The endpoint caches prompts persistently (counts as retention) or may do so.
caching_problem(ep) := "caching unknown, assumed persistent (source: assumed)" if {
	caching(ep) == null
} else := msg if {
	caching(ep) == "persistent"
	msg := concat("", ["endpoint caches prompts persistently (source: ", source(ep.caching), ")"])
}

# The endpoint trains on prompts or may do so.
training_problem(ep) := "training unknown, assumed to train on prompts (source: assumed)" if {
	trains_on_data(ep) == null
} else := msg if {
	trains_on_data(ep) == true
	msg := concat("", ["endpoint trains on prompts (source: ", source(ep.trains_on_data), ")"])
}

# The endpoint is not processed in `region` (fails closed on unknown residency). When
# data.regions lists the region's countries, a known country must be one of them.
residency_problem(ep, region) := msg if {
	residency_region(ep) == null
	msg := concat("", ["residency unknown, matches no region; ", region, " required (source: assumed)"])
} else := msg if {
	r := residency_region(ep)
	r != region
	msg := concat("", [
		"endpoint processed in region ", r, country_suffix(ep), ", ", region,
		" required (source: ", source(ep.residency), ")",
	])
} else := msg if {
	c := residency_country(ep)
	c != null
	countries := data.regions[region].countries
	not countries[c]
	msg := concat("", [
		"endpoint processed in ", c, ", not a country of region ", region,
		" (source: ", source(ep.residency), ")",
	])
}

country_suffix(ep) := concat("", [" (country ", c, ")"]) if {
	c := residency_country(ep)
	c != null
} else := ""

# The provider is not headquartered in one of `allowed` (a set of country codes).
headquarters_problem(ep, allowed) := msg if {
	headquarters(ep) == null
	msg := concat("", [
		"provider headquarters unknown; allowed: ", concat(", ", sort(allowed)),
		" (source: assumed)",
	])
} else := msg if {
	h := headquarters(ep)
	not h in allowed
	msg := concat("", [
		"provider ", ep.provider, " headquartered in ", h, "; allowed: ",
		concat(", ", sort(allowed)), " (source: provider)",
	])
}

# The requesting principal's tenant rules from data.json, undefined for other tenants.
tenant := data.tenants[input.principal.tenant]

# The region the request asks for, lower-case, undefined when none.
request_region := lower(r) if {
	r := input.request.region
	is_string(r)
	r != ""
}

# "tenant <name>: <rule>: ", the start of every reason a tenant rule gives.
tenant_prefix(rule) := concat("", ["tenant ", input.principal.tenant, ": ", rule, ": "])
