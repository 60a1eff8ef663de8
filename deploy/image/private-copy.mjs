// Copies the files of a mounted secret (Kubernetes mounts them owned by root, readable through
// fsGroup) into a directory this user owns, the directory mode 0700 and each file 0600: `sovr
// serve` refuses signing keys another user owns or could read (src/config/private-paths.ts).
// The Helm chart runs it in an init container into an in-memory emptyDir.
//
// Usage: node private-copy.mjs <from-dir> <to-dir>
import { chmod, copyFile, mkdir, readdir, stat } from "node:fs/promises";
import { join } from "node:path";

const [from, to] = process.argv.slice(2);
if (!from || !to) {
  console.error("usage: node private-copy.mjs <from-dir> <to-dir>");
  process.exit(2);
}
await mkdir(to, { recursive: true, mode: 0o700 });
await chmod(to, 0o700);
let copied = 0;
for (const name of await readdir(from)) {
  // The kubelet's own entries (..data, ..2024_…) are the links behind each file.
  if (name.startsWith(".")) continue;
  if (!(await stat(join(from, name))).isFile()) continue;
  await copyFile(join(from, name), join(to, name));
  await chmod(join(to, name), 0o600);
  copied++;
}
console.log(`copied ${copied} file(s) from ${from} to ${to} (mode 0600)`);
