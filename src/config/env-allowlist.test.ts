import { describe, expect, it } from "vitest";
import {
  type CatalogEnvPolicy,
  DEFAULT_KEY_VARS,
  DEFAULT_URL_VARS,
  hardDenied,
  keyVarRefusal,
  providerKeyEnv,
  urlVarRefusal,
} from "./env-allowlist.js";

const defaults: CatalogEnvPolicy = { urlVars: new Set(DEFAULT_URL_VARS), keyVars: new Set(DEFAULT_KEY_VARS) };
/** An operator who listed every secret it could think of. */
const reckless: CatalogEnvPolicy = {
  urlVars: new Set([
    "SOVR_MASTER_KEY",
    "DATABASE_URL",
    "SOVR_POLICY_BUNDLE_URL",
    "MY_TOKEN",
    "CONFIG_SECRET",
  ]),
  keyVars: new Set([
    "SOVR_MASTER_KEY",
    "SOVR_MASTER_KEY_FILE",
    "SOVR_TLS_KEY",
    "SOVR_KEYS_DIR",
    "CONFIG_SECRET",
  ]),
  secretVars: new Set(["CONFIG_SECRET"]),
};

describe("catalog variable allow-lists", () => {
  it("the defaults allow the shipped catalog's variables and nothing else", () => {
    expect(urlVarRefusal("SOVR_SIMULATOR_URL", defaults)).toBeUndefined();
    expect(urlVarRefusal("AZURE_OPENAI_RESOURCE", defaults)).toBeUndefined();
    expect(keyVarRefusal("MISTRAL_API_KEY", defaults)).toBeUndefined();
    expect(urlVarRefusal("HOME", defaults)).toMatch(/not on the allow-list.*SOVR_CATALOG_URL_VARS/);
    expect(keyVarRefusal("PATH", defaults)).toMatch(/not on the allow-list.*SOVR_PROVIDER_KEY_VARS/);
  });

  it("the hard deny holds whatever the configuration lists", () => {
    for (const name of [
      "SOVR_MASTER_KEY",
      "SOVR_MASTER_KEY_FILE",
      "SOVR_TLS_KEY",
      "SOVR_KEYS_DIR",
      "DATABASE_URL",
    ]) {
      expect(keyVarRefusal(name, reckless), name).toMatch(/server secret.*no configuration lifts this/);
      expect(urlVarRefusal(name, reckless), name).toMatch(/server secret/);
    }
    // Any other SOVR_* is configuration; only the simulator's URL is explicitly non-secret.
    expect(urlVarRefusal("SOVR_POLICY_BUNDLE_URL", reckless)).toMatch(/server configuration/);
    expect(hardDenied("SOVR_SIMULATOR_URL")).toBeUndefined();
    // What the config module marks secret.
    expect(keyVarRefusal("CONFIG_SECRET", reckless)).toMatch(/server secret/);
    // A credential-looking name is never interpolated into a stored, public base_url.
    expect(urlVarRefusal("MY_TOKEN", reckless)).toMatch(/names a credential/);
    expect(urlVarRefusal("MISTRAL_API_KEY", defaults)).toMatch(/names a credential/);
  });

  it("without a configuration only the hard deny applies (library use)", () => {
    expect(keyVarRefusal("ACME_API_KEY", undefined)).toBeUndefined();
    expect(keyVarRefusal("SOVR_MASTER_KEY", undefined)).toMatch(/server secret/);
  });

  it("the router sees only allow-listed provider keys", () => {
    const env = { MISTRAL_API_KEY: "m", SOVR_MASTER_KEY: "secret", HOME: "/root" };
    expect(providerKeyEnv(env, reckless)).toEqual({});
    expect(providerKeyEnv(env, defaults)).toMatchObject({ MISTRAL_API_KEY: "m" });
    expect(Object.values(providerKeyEnv(env, defaults))).not.toContain("secret");
  });
});
