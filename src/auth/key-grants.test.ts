import { describe, expect, it } from "vitest";
import { grantCeiling, grantRefusal } from "./key-grants.js";
import { modelInScope, providerInScope } from "./key-scope.js";

describe("key scopes", () => {
  it("matches models exactly or by glob, providers exactly; an empty list allows all", () => {
    const scope = { models: ["openai/*", "sim/chat-small"], providers: ["openai"] };
    expect(modelInScope(scope, "openai/gpt-4o")).toBe(true);
    expect(modelInScope(scope, "sim/chat-small")).toBe(true);
    expect(modelInScope(scope, "sim/chat-smaller")).toBe(false);
    expect(modelInScope(scope, "openaix/gpt")).toBe(false);
    // Regex characters in a pattern are literal.
    expect(modelInScope({ models: ["a.b/*"], providers: [] }, "axb/c")).toBe(false);
    expect(providerInScope(scope, "openai")).toBe(true);
    expect(providerInScope(scope, "anthropic")).toBe(false);
    expect(modelInScope({ models: [], providers: [] }, "anything")).toBe(true);
    expect(providerInScope(undefined, "anything")).toBe(true);
  });
});

describe("grantRefusal", () => {
  const unscoped = { models: [], providers: [] };
  it("bounds roles and max role by the creator's ceiling: its max role, else its highest role", () => {
    expect(grantCeiling({ roles: ["client", "admin"] })).toBe("admin");
    expect(grantCeiling({ roles: ["admin"], maxRole: "client" })).toBe("client");
    const admin = { roles: ["admin"] };
    expect(grantRefusal(admin, { roles: ["client", "auditor", "admin"], scope: unscoped })).toBeUndefined();
    expect(grantRefusal(admin, { roles: ["operator"], scope: unscoped })?.field).toBe("roles[0]");
    expect(grantRefusal(admin, { roles: ["client"], maxRole: "operator", scope: unscoped })?.field).toBe(
      "max_role",
    );
    const provisioner = { roles: ["admin"], maxRole: "client" };
    expect(grantRefusal(provisioner, { roles: ["client"], scope: unscoped })).toBeUndefined();
    expect(grantRefusal(provisioner, { roles: ["client", "auditor"], scope: unscoped })?.field).toBe(
      "roles[1]",
    );
  });

  it("lets a scoped creator grant only scopes within its own", () => {
    const p = { roles: ["admin"], scope: { models: ["openai/*", "sim/a"], providers: ["openai"] } };
    const ok = (models: string[], providers = ["openai"]) =>
      grantRefusal(p, { roles: ["client"], scope: { models, providers } })?.field;
    expect(ok(["openai/gpt-*", "sim/a"])).toBeUndefined();
    expect(ok(["openai/*"])).toBeUndefined();
    expect(ok([])).toBe("allowed_models");
    expect(ok(["*"])).toBe("allowed_models[0]");
    expect(ok(["sim/*"])).toBe("allowed_models[0]");
    expect(ok(["openai/*"], [])).toBe("allowed_providers");
    expect(ok(["openai/*"], ["openai", "other"])).toBe("allowed_providers[1]");
  });
});
