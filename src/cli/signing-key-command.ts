import type { Command } from "commander";

/** Adds `sovr keys generate`: a new record-signing key, made current (rotation). */
export function addSigningKeyCommand(keys: Command): void {
  keys
    .command("generate")
    .description("create a new record-signing key and make it current (rotation); old keys keep verifying")
    .action(async () => {
      // Loaded when the command runs, not when `sovr keys` lists its subcommands.
      const [{ rotateSigningKey }, { ensurePrivateDir, loadConfig }] = await Promise.all([
        import("../audit/index.js"),
        import("../config/index.js"),
      ]);
      const config = loadConfig();
      // A new private key goes only into a directory no other user can reach.
      await ensurePrivateDir(config.keysDir, "signing keys directory");
      const key = await rotateSigningKey(config.keysDir);
      console.log(
        `generated signing key ${key.keyId} in ${config.keysDir}; a running server uses it after restart`,
      );
    });
}
