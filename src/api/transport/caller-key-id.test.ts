import { describe, expect, it } from "vitest";
import type { Principal } from "../../auth/index.js";
import { callerKeyId } from "./rate-limit.js";

const principal = (identity: Principal["identity"]): Principal => ({
  tenant: "acme",
  workload: "",
  roles: ["client"],
  keyId: "",
  allTenants: false,
  identity,
});

describe("callerKeyId with workload identities", () => {
  it("counts each JWT subject (per issuer) and each certificate subject as its own key", () => {
    const jwt = (sub: string, iss: string) => principal({ kind: "jwt", subject: sub, claims: { iss } });
    expect(callerKeyId("Bearer a.b.c", true, jwt("bot", "https://a"))).toBe("jwt:https://a:bot");
    expect(callerKeyId("Bearer a.b.c", true, jwt("bot", "https://b"))).not.toBe(
      callerKeyId("Bearer a.b.c", true, jwt("bot", "https://a")),
    );
    expect(
      callerKeyId(undefined, true, principal({ kind: "mtls", subject: "spiffe://td/x", claims: {} })),
    ).toBe("mtls:spiffe://td/x");
  });

  it("keeps API keys on their id, and everything on one key with auth off", () => {
    const key = "sovr_0123456789ab_" + "A".repeat(43);
    expect(
      callerKeyId(`Bearer ${key}`, true, principal({ kind: "api_key", subject: "0123456789ab", claims: {} })),
    ).toBe("0123456789ab");
    expect(callerKeyId("Bearer a.b.c", false, principal({ kind: "jwt", subject: "s", claims: {} }))).toBe(
      "anonymous",
    );
  });
});
