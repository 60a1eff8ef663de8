import { describe, expect, it } from "vitest";
import type { Principal } from "../../auth/index.js";
import { AuthError } from "../../auth/index.js";
import { exportScope } from "./audit-export.js";

const auditor = (allTenants: boolean): Principal => ({
  tenant: "ta",
  workload: "",
  roles: ["auditor"],
  keyId: "k1",
  allTenants,
});

describe("exportScope: the caller's scope decides what is exported", () => {
  it("gives an auditor without the all-tenants grant its own tenant, also when it names it", () => {
    expect(exportScope(auditor(false), "")).toBe("ta");
    expect(exportScope(auditor(false), "ta")).toBe("ta");
  });

  it("refuses another tenant to it, naming the field, rather than narrowing silently", () => {
    expect(() => exportScope(auditor(false), "tb")).toThrow(AuthError);
    expect(() => exportScope(auditor(false), "tb")).toThrow(
      /^tenant: key k1 may export only tenant ta, not tb$/,
    );
  });

  it("gives an all-tenants auditor the whole log, or the tenant it asks for", () => {
    expect(exportScope(auditor(true), "")).toBeUndefined();
    expect(exportScope(auditor(true), "tb")).toBe("tb");
  });
});
