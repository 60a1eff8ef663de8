/**
 * ISO 3166-1 alpha-2 country codes: the 249 officially assigned codes (ISO 3166 Maintenance
 * Agency, "officially assigned" status). User-assigned, reserved and withdrawn codes (e.g. "UK",
 * "EU", "XK") are not countries in this sense and are rejected.
 */
const ISO_3166_1_ALPHA_2 =
  "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ " +
  "BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
  "CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ " +
  "DE DJ DK DM DO DZ " +
  "EC EE EG EH ER ES ET " +
  "FI FJ FK FM FO FR " +
  "GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY " +
  "HK HM HN HR HT HU " +
  "ID IE IL IM IN IO IQ IR IS IT " +
  "JE JM JO JP " +
  "KE KG KH KI KM KN KP KR KW KY KZ " +
  "LA LB LC LI LK LR LS LT LU LV LY " +
  "MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ " +
  "NA NC NE NF NG NI NL NO NP NR NU NZ " +
  "OM " +
  "PA PE PF PG PH PK PL PM PN PR PS PT PW PY " +
  "QA " +
  "RE RO RS RU RW " +
  "SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ " +
  "TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ " +
  "UA UG UM US UY UZ " +
  "VA VC VE VG VI VN VU " +
  "WF WS " +
  "YE YT " +
  "ZA ZM ZW";

/** Every officially assigned ISO 3166-1 alpha-2 code. */
export const COUNTRY_CODES: ReadonlySet<string> = new Set(ISO_3166_1_ALPHA_2.split(" "));

/**
 * Members of the European Economic Area: the 27 EU member states plus Iceland, Liechtenstein
 * and Norway, where the GDPR applies directly. A residency stated as `region: eu` must name one
 * of these countries (when it names a country at all).
 */
export const EEA_COUNTRY_CODES: ReadonlySet<string> = new Set(
  ("AT BE BG HR CY CZ DK EE FI FR DE GR IE IT LV LT LU MT NL PL PT RO SK SI ES SE " + "IS LI NO").split(" "),
);

/** True for an officially assigned ISO 3166-1 alpha-2 code (upper case). */
export function isCountryCode(code: string): boolean {
  return COUNTRY_CODES.has(code);
}

/** The 27 member states of the European Union. */
export const EU_COUNTRY_CODES: ReadonlySet<string> = new Set(
  "AT BE BG HR CY CZ DK EE FI FR DE GR IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split(" "),
);

/**
 * Named sets of countries that audit queries test an endpoint's residency against (`sovr audit
 * query --outside EU`, docs/audit.md §7.2): defined here once. Names are upper case.
 */
export const REGION_SETS: Readonly<Record<string, ReadonlySet<string>>> = {
  EU: EU_COUNTRY_CODES,
  EEA: EEA_COUNTRY_CODES,
};

/** The countries of a region set named in any case, or undefined for an unknown name. */
export function regionSetCountries(name: string): ReadonlySet<string> | undefined {
  return Object.hasOwn(REGION_SETS, name.toUpperCase()) ? REGION_SETS[name.toUpperCase()] : undefined;
}
