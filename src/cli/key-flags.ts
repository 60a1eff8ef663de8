import type { Role } from "../auth/index.js";
import { Role as RoleEnum } from "../gen/sovereign/v1/keys_pb.js";

/**
 * Each role and its KeyService enum value. Typed as every `Role` (a role added to auth's ROLES
 * fails to compile here until it is mapped), so the command knows the roles without loading
 * auth's modules.
 */
export const ROLE_ENUM: Readonly<Record<Role, RoleEnum>> = {
  client: RoleEnum.CLIENT,
  auditor: RoleEnum.AUDITOR,
  admin: RoleEnum.ADMIN,
  operator: RoleEnum.OPERATOR,
};
export const ROLES = Object.keys(ROLE_ENUM) as readonly Role[];

/** `--expires-in 30d` (s, m, h, d, w) or `--expires-at 2027-01-31T00:00:00Z` → the instant; one of the two. */
export function parseExpiry(
  o: { expiresIn?: string; expiresAt?: string },
  now = Date.now(),
): Date | undefined {
  if (o.expiresIn !== undefined && o.expiresAt !== undefined)
    throw new Error("--expires-in, --expires-at: give one of the two");
  if (o.expiresIn !== undefined) {
    const m = /^(\d{1,6})([smhdw])$/.exec(o.expiresIn.trim());
    if (!m) throw new Error("--expires-in: a number and a unit s, m, h, d or w, e.g. 30d");
    const unit = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[m[2] as "s" | "m" | "h" | "d" | "w"];
    const seconds = Number(m[1]) * unit;
    if (seconds <= 0) throw new Error("--expires-in: must be more than zero");
    return new Date(now + seconds * 1000);
  }
  if (o.expiresAt !== undefined) {
    // An ISO 8601 instant with its offset: a local time without one would mean different
    // instants on different machines.
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(o.expiresAt))
      throw new Error("--expires-at: an ISO 8601 instant with an offset, e.g. 2027-01-31T00:00:00Z");
    const at = new Date(o.expiresAt);
    if (Number.isNaN(at.getTime())) throw new Error("--expires-at: not a valid instant");
    return at;
  }
  return undefined;
}

/** `--models a,b --models c` → [a, b, c]. */
export function parseList(values: string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter((v) => v !== "");
}

export function parseRole(flag: string, value: string | undefined): Role | undefined {
  if (value === undefined) return undefined;
  if (!(ROLES as readonly string[]).includes(value))
    throw new Error(`${flag}: ${value} is not one of ${ROLES.join(", ")}`);
  return value as Role;
}
