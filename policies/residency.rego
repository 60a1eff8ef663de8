# Request-level residency (`region`, e.g. "eu"): only endpoints whose prompts are
# processed in that region. Fails closed: unknown residency matches no region. For
# regions listed in data.regions (eu = EU/EEA), a known country must be on the list.
package sovereign.checks

import data.sovereign.lib

applied contains ["residency: ", ["residency", lib.request_region]]
