/** Debian's chromium driven by playwright-core (no browser download): the web console's tests. */
import { existsSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";

export const CHROMIUM = process.env.SOVR_CHROMIUM ?? "/usr/bin/chromium";

/** Whether the browser is installed (scripts/install-chromium.sh). */
export const haveChromium = existsSync(CHROMIUM);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
}

/** Every URL the page requests, and every console error it logs, as they happen. */
export function recordPage(page: Page): { requests: string[]; errors: string[] } {
  const requests: string[] = [];
  const errors: string[] = [];
  page.on("request", (r) => requests.push(r.url()));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  return { requests, errors };
}
