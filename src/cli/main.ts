import { Command } from "commander";
import { COMMAND_GROUPS } from "./command-groups.js";
import { addUsageCommand } from "./usage-commands.js";
import { packageVersion } from "./version.js";

const program = new Command()
  .name("sovr")
  .description("Sovereign Router: policy-enforced LLM routing with signed decision records.")
  .version(packageVersion(), "-V, --version", "print the version (package.json)")
  .showHelpAfterError();

// A command's modules load only when it is the command given (`sovr keys …`, `sovr help keys`):
// see command-groups.ts. The top level takes no option with a value, so the first word that is
// not an option names the command.
const words = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const invoked = words[0] === "help" ? words[1] : words[0];

const serve = program
  .command("serve")
  .description(
    "serve gRPC/Connect (SOVR_GRPC_PORT) and HTTP (SOVR_HTTP_PORT); configuration from the environment",
  )
  .action(async () => (await import("./serve.js")).serve());
if (invoked === "serve") {
  const { configHelpText } = await import("../config/index.js");
  serve.addHelpText("after", () => configHelpText());
}

for (const group of COMMAND_GROUPS) {
  const command = program.command(group.name).description(group.description);
  if (group.name === invoked) await group.load(command);
}

addUsageCommand(program);

// `sovr … | head`: the reader went away; that is the end of the output, not an error.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

program.parseAsync().catch(async (err: unknown) => {
  const [{ CatalogValidationError }, { ConfigError }, { describeError }] = await Promise.all([
    import("../catalog/index.js"),
    import("../config/index.js"),
    import("./errors.js"),
  ]);
  if (err instanceof CatalogValidationError) {
    for (const i of err.issues)
      console.error(`${i.file}${i.line ? `:${i.line}` : ""}: ${i.path ? `${i.path}: ` : ""}${i.message}`);
  } else if (err instanceof ConfigError) {
    console.error(err.message);
  } else {
    console.error(`error: ${describeError(err)}`);
  }
  process.exit(1);
});
