# What the content detectors found in the request (input.request.content_labels: counts per
# category, the detector's version, the parts that could not be scanned; null when no
# detector is configured). Never the text. Helpers of pii_requires_eu.rego, secrets_deny.rego
# and route.rego's obligations. Content that was not (fully) scanned may contain anything:
# every helper below answers the worst case then.
package sovereign.lib

# Category → count, when a detector scanned every part of the request; undefined otherwise.
content_counts := c if {
	labels := input.request.content_labels
	is_object(labels)
	labels.unscannable == 0
	c := labels.counts
	is_object(c)
}

# Why the content is not known, for reasons; undefined when it is.
content_unknown := "no content detector" if {
	not is_object(input.request.content_labels)
} else := concat("", [format_int(n, 10), " part(s) could not be scanned"]) if {
	n := input.request.content_labels.unscannable
	n != 0
} else := "content labels not understood" if not content_counts

# The personal-data categories found (every category but "secret"), sorted.
personal_data_found := sort([c | some c, n in content_counts; c != "secret"; n > 0])

# Every category of personal data the detectors know: what to redact when nothing is known.
personal_data_categories := ["email", "iban", "ip_address", "national_id", "payment_card", "phone"]

# The request may carry personal data: some was found, or the content is not known.
personal_data if content_unknown

personal_data if count(personal_data_found) > 0

# "personal data (email 2, iban 1)", or why it may be there.
personal_data_text := concat("", [
	"personal data (", concat(", ", [entry |
		some c in personal_data_found
		entry := concat(" ", [c, format_int(content_counts[c], 10)])
	]),
	")",
]) if {
	count(personal_data_found) > 0
} else := concat("", ["may hold personal data: ", content_unknown])

# The request may carry a secret (a key, a token, a password): one was found, or the content
# is not known.
secret if content_unknown

secret if content_counts.secret > 0

secret_text := concat("", ["prompt holds a secret (", format_int(content_counts.secret, 10), ")"]) if {
	content_counts.secret > 0
} else := concat("", ["prompt may hold a secret: ", content_unknown])

# A check that every endpoint fails with `message` (secrets_deny.rego).
problem(_, ["content", message]) := message

# The categories a redact obligation names: those found, or all of them when not known
# (then the router cannot apply it and excludes the endpoint: fail closed).
redact_categories := personal_data_found if {
	not content_unknown
} else := personal_data_categories

# The tenant lets personal data go outside the EU/EEA masked (pii_requires_eu.rego).
pii_redact if {
	tenant.pii_requires_eu == true
	tenant.pii_redact_outside_eu == true
	personal_data
}

# The endpoint fails pii_requires_eu: processed outside the EU/EEA, or (may be) training.
outside_eu_or_trains(ep) if problem(ep, ["residency", "eu"])

outside_eu_or_trains(ep) if problem(ep, "training")
