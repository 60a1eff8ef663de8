import { describe, expect, it } from "vitest";
import type { OidcIssuerConfig } from "../config/index.js";
import { mapClaims } from "./claim-mapping.js";

const issuer: OidcIssuerConfig = {
  issuer: "https://idp.example",
  audiences: ["sovr"],
  algorithms: ["RS256"],
  jwks_cooldown_s: 30,
  max_clock_skew_s: 60,
  subject_claim: "sub",
  tenant: { claim: "org" },
  allowed_tenants: ["acme", "beta"],
  roles: { claim: "scope", map: { "llm:call": ["client"], "audit:read": ["auditor"] } },
  expose_claims: ["azp", "groups", "nested"],
};

describe("mapClaims", () => {
  it("maps tenant, roles (space-separated scope through the map) and exposed claims as strings", () => {
    const m = mapClaims(issuer, {
      sub: "bot",
      org: "acme",
      scope: "openid llm:call audit:read",
      azp: "search",
      groups: ["a", "b", 3],
      nested: { x: 1 },
    });
    expect(m).toEqual({
      tenant: "acme",
      roles: ["client", "auditor"],
      identity: {
        kind: "jwt",
        subject: "bot",
        claims: { iss: "https://idp.example", azp: "search", groups: "a b" },
      },
    });
  });

  it("refuses a tenant outside the allowed list, no subject, no role, and never echoes the value", () => {
    expect(() => mapClaims(issuer, { sub: "bot", org: "evil-corp", scope: "llm:call" })).toThrow(
      /not one this issuer may speak for/,
    );
    expect(() => mapClaims(issuer, { sub: "bot", org: "evil-corp", scope: "llm:call" })).not.toThrow(/evil/);
    expect(() => mapClaims(issuer, { org: "acme", scope: "llm:call" })).toThrow(/no sub claim/);
    expect(() => mapClaims(issuer, { sub: "bot", org: "acme", scope: "openid" })).toThrow(/no role/);
  });

  it("refuses operator from a roles claim without a map, at mapping time", () => {
    const direct = { ...issuer, roles: { claim: "roles" } };
    expect(mapClaims(direct, { sub: "b", org: "acme", roles: ["client"] }).roles).toEqual(["client"]);
    expect(() => mapClaims(direct, { sub: "b", org: "acme", roles: ["client", "operator"] })).toThrow(
      /operator/,
    );
  });
});
