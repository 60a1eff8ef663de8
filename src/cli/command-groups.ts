import type { Command } from "commander";

/**
 * The `sovr` command's groups (`sovr keys …`, `sovr audit …`), each with the module that adds
 * its subcommands. main.ts registers every group by name and description, and loads a group's
 * modules only when that group is the command given (`sovr keys create`, `sovr help keys`), so
 * `sovr --help` loads no part of the server, and `sovr audit verify` not the app, the API or the
 * key stores it never uses: a command pays for what it runs.
 */
export interface CommandGroup {
  readonly name: string;
  readonly description: string;
  /** Adds the group's subcommands to its command. */
  readonly load: (group: Command) => Promise<void>;
}

export const COMMAND_GROUPS: readonly CommandGroup[] = [
  {
    name: "catalog",
    description: "the provider catalog",
    load: async (g) => (await import("./catalog-commands.js")).addCatalogCommands(g),
  },
  {
    name: "policy",
    description: "policy bundles",
    load: async (g) => (await import("./policy-commands.js")).addPolicyCommands(g),
  },
  {
    name: "keys",
    description: "API keys and record-signing keys",
    load: async (g) => {
      const [keys, byok, signing] = await Promise.all([
        import("./keys-commands.js"),
        import("./byok-commands.js"),
        import("./signing-key-command.js"),
      ]);
      keys.addKeysCommands(g);
      byok.addByokCommands(g);
      signing.addSigningKeyCommand(g);
    },
  },
  {
    name: "budgets",
    description: "spend and token budgets per tenant or key, per UTC day or month",
    load: async (g) => (await import("./budgets-commands.js")).addBudgetsCommands(g),
  },
  {
    name: "audit",
    description: "the signed decision log (auditors)",
    load: async (g) => (await import("./audit-commands.js")).addAuditCommands(g),
  },
  {
    name: "models",
    description: "GGUF models run in-process (the local provider)",
    load: async (g) => (await import("./models-commands.js")).addModelsCommands(g),
  },
];
