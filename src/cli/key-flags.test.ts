import { describe, expect, it } from "vitest";
import { ROLES as AUTH_ROLES } from "../auth/index.js";
import { parseRole, ROLES } from "./key-flags.js";

describe("the command's roles", () => {
  it("are auth's roles, in auth's order, without loading auth", () => {
    expect(ROLES).toEqual(AUTH_ROLES);
  });

  it("--max-role takes a role and names the others when it is not one", () => {
    expect(parseRole("--max-role", "admin")).toBe("admin");
    expect(parseRole("--max-role", undefined)).toBeUndefined();
    expect(() => parseRole("--max-role", "root")).toThrow(
      "--max-role: root is not one of client, auditor, admin, operator",
    );
  });
});
