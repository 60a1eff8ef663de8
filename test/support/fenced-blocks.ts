import { readFileSync } from "node:fs";

/** One fenced code block of a Markdown file: its text and where it starts, for messages. */
export interface FencedBlock {
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly text: string;
}

/**
 * The fenced blocks of `file` whose info string is `lang` (```sh, ```rego), in document
 * order. Only column-0 ``` fences count, which is how every doc in this repository writes them.
 */
export function fencedBlocks(file: string, lang: string): FencedBlock[] {
  const lines = readFileSync(file, "utf8").split("\n");
  const blocks: FencedBlock[] = [];
  let open: { line: number; lang: string; body: string[] } | undefined;
  lines.forEach((l, i) => {
    if (!l.startsWith("```")) {
      open?.body.push(l);
      return;
    }
    if (open) {
      if (open.lang === lang) blocks.push({ file, line: open.line, text: `${open.body.join("\n")}\n` });
      open = undefined;
    } else {
      open = { line: i + 1, lang: l.slice(3).trim(), body: [] };
    }
  });
  if (open) throw new Error(`${file}:${open.line}: fenced block is never closed`);
  return blocks;
}

/** One command of a shell example: continuation lines joined, comment-only lines dropped. */
export interface ShellCommand {
  readonly file: string;
  /** 1-based line where the command starts. */
  readonly line: number;
  readonly command: string;
}

/** Splits a ```sh block into its commands, one per (backslash-continued) line. */
export function shellCommands(block: FencedBlock): ShellCommand[] {
  const commands: ShellCommand[] = [];
  let current: { line: number; parts: string[] } | undefined;
  block.text.split("\n").forEach((l, i) => {
    const line = block.line + 1 + i;
    if (!current) {
      if (l.trim() === "" || l.trim().startsWith("#")) return;
      current = { line, parts: [] };
    }
    if (l.endsWith("\\")) {
      current.parts.push(l.slice(0, -1));
      return;
    }
    current.parts.push(l);
    commands.push({ file: block.file, line: current.line, command: current.parts.join(" ").trim() });
    current = undefined;
  });
  return commands;
}
