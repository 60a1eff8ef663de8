/**
 * The Responses API's `tools` and `tool_choice` → Chat Completions shaped tools (the internal
 * model). Function tools only: built-in tools (web_search, file_search, computer,
 * code_interpreter, mcp, image_generation, shell, apply_patch, custom, namespace, tool_search)
 * run on OpenAI's side and have no counterpart here, so they are refused naming the tool.
 *
 * `strict`: OpenAI documents `true` as the Responses default, so a function tool is strict unless
 * it says `strict: false`; a strict tool is carried as `function.strict` and needs an endpoint
 * that declares `structured_outputs` (routing/parameters.ts).
 */
import { bool, check, isObject, str } from "../../encoding/index.js";
import type { UpstreamTool } from "../../upstream/index.js";

export interface ResponsesTools {
  tools?: UpstreamTool[];
  toolChoice?: unknown;
  /** The tools as the Response echoes them (flat function-tool shape). */
  echo: Record<string, unknown>[];
  choiceEcho: unknown;
}

export function responsesTools(tools: unknown, choice: unknown): ResponsesTools {
  check(tools === undefined || tools === null || Array.isArray(tools), "tools", "must be an array");
  const list = (tools ?? []).map(tool);
  let selected = list;
  let toolChoice: unknown;
  if (choice === undefined || choice === null) toolChoice = undefined;
  else if (choice === "none" || choice === "auto" || choice === "required") toolChoice = choice;
  else {
    check(isObject(choice), "tool_choice", "must be none, auto, required, a function or allowed_tools");
    if (choice.type === "function") {
      const name = str(choice.name, "tool_choice.name");
      check(name !== undefined, "tool_choice.name", "is required");
      toolChoice = { type: "function", function: { name } };
    } else if (choice.type === "allowed_tools") {
      // Restricting the model to a subset is offering only that subset, in `mode`.
      check(
        choice.mode === "auto" || choice.mode === "required",
        "tool_choice.mode",
        "must be auto or required",
      );
      check(Array.isArray(choice.tools), "tool_choice.tools", "must be an array");
      const names = choice.tools.map((t, i) => {
        const f = `tool_choice.tools[${i}]`;
        check(isObject(t) && t.type === "function", `${f}.type`, "only function tools can be allowed");
        const name = str(t.name, `${f}.name`);
        check(
          name !== undefined && list.some((l) => l.tool.function.name === name),
          `${f}.name`,
          "must name one of the tools",
        );
        return name;
      });
      selected = list.filter((l) => names.includes(l.tool.function.name));
      toolChoice = choice.mode;
    } else
      check(
        false,
        "tool_choice.type",
        "must be function or allowed_tools (built-in tools are not supported)",
      );
  }
  return {
    tools: selected.length > 0 ? selected.map((l) => l.tool) : undefined,
    toolChoice,
    echo: list.map((l) => l.echo),
    choiceEcho: choice ?? "auto",
  };
}

function tool(v: unknown, i: number): { tool: UpstreamTool; echo: Record<string, unknown> } {
  const f = `tools[${i}]`;
  check(isObject(v), f, "must be an object");
  check(
    v.type === "function",
    `${f}.type`,
    "only function tools are supported (built-in tools run at OpenAI, not here)",
  );
  const name = str(v.name, `${f}.name`);
  check(name !== undefined, `${f}.name`, "is required");
  const description = str(v.description, `${f}.description`);
  check(
    v.parameters === undefined || v.parameters === null || isObject(v.parameters),
    `${f}.parameters`,
    "must be a JSON Schema object",
  );
  const strict = bool(v.strict, `${f}.strict`) ?? true;
  check(v.defer_loading === undefined || v.defer_loading === false, `${f}.defer_loading`, "is not supported");
  check(v.output_schema === undefined || v.output_schema === null, `${f}.output_schema`, "is not supported");
  const callers = v.allowed_callers;
  check(
    callers === undefined ||
      callers === null ||
      (Array.isArray(callers) && callers.length > 0 && callers.every((c) => c === "direct")),
    `${f}.allowed_callers`,
    "only direct calls are supported",
  );
  const fn: UpstreamTool["function"] = { name };
  if (description !== undefined) fn.description = description;
  if (isObject(v.parameters)) fn.parameters = v.parameters;
  if (strict) fn.strict = true;
  return {
    tool: { type: "function", function: fn },
    echo: {
      type: "function",
      name,
      description: description ?? null,
      parameters: v.parameters ?? null,
      strict,
    },
  };
}
