/**
 * The auditor's filters of QueryDecisions (docs/audit.md §7.2): provider, residency country and
 * region, inside/outside a region set, headquarters, a rule that excluded or passed, key id and
 * content label, checked here and handed to the store as a {@link DecisionFacetFilter}.
 */
import type { DecisionFacetFilter } from "../../audit/index.js";
import { isCountryCode, REGION_SETS, regionSetCountries } from "../../catalog/index.js";
import type { QueryDecisionsRequest } from "../../gen/sovereign/v1/audit_pb.js";
import { InvalidFieldError } from "./errors.js";

type Fields = Partial<
  Pick<
    QueryDecisionsRequest,
    | "provider"
    | "country"
    | "residencyRegion"
    | "inside"
    | "outside"
    | "headquarters"
    | "excludedBy"
    | "passed"
    | "keyId"
    | "label"
  >
>;

const SETS = Object.keys(REGION_SETS).join(", ");

function country(field: string, v: string | undefined): string | undefined {
  if (!v) return undefined;
  if (!isCountryCode(v)) throw new InvalidFieldError(field, "is not an ISO 3166-1 alpha-2 code (upper case)");
  return v;
}

function regionSet(field: string, v: string | undefined): string[] | undefined {
  if (!v) return undefined;
  const set = regionSetCountries(v);
  if (!set) throw new InvalidFieldError(field, `is not a region set (one of ${SETS})`);
  return [...set].sort();
}

function facet(field: string, prefix: string, v: string | undefined): string[] {
  if (!v) return [];
  if (v.includes("\n") || v.length > 200)
    throw new InvalidFieldError(field, "is not a rule or category name");
  return [`${prefix}:${v}`];
}

export function facetFilter(req: Fields): DecisionFacetFilter {
  const out: DecisionFacetFilter = {};
  if (req.provider) out.provider = req.provider;
  const c = country("country", req.country);
  if (c) out.country = c;
  if (req.residencyRegion) out.residencyRegion = req.residencyRegion;
  const hq = country("headquarters", req.headquarters);
  if (hq) out.headquarters = hq;
  const inside = regionSet("inside", req.inside);
  if (inside) out.insideCountries = inside;
  const outside = regionSet("outside", req.outside);
  if (outside) out.outsideCountries = outside;
  if (req.keyId) out.keyId = req.keyId;
  const facets = [
    ...facet("excluded_by", "excluded", req.excludedBy),
    ...facet("passed", "passed", req.passed),
    ...facet("label", "label", req.label),
  ];
  if (facets.length > 0) out.facets = facets;
  return out;
}
