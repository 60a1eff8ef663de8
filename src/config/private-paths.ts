import { mkdir, stat } from "node:fs/promises";

/**
 * The server's secrets on disk — the embedded database (API-key hashes, audit metadata, its
 * WAL), the record-signing keys, the BYOK master key file — must be reachable by the service
 * user alone. PGlite creates its own files 0666 and directories 0755 whatever the umask, so the
 * directory that holds them is the wall: it is created 0700, and a directory (or key file) that
 * another user could read or write, or that another user owns (and so can chmod), stops
 * start-up with the path, what was found and the one-line fix. Nothing is chmod-ed silently: an
 * install whose directory was opened up deliberately would otherwise be narrowed behind the
 * operator's back, and one opened by accident would hide how long it stood open.
 */
export class PrivatePathError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = "PrivatePathError";
  }
}

/** Bits that give the group or others any access. */
const GROUP_OTHER = 0o077;

/** Creates `dir` (and missing parents) mode 0700 if absent, then {@link checkPrivateDir}. */
export async function ensurePrivateDir(dir: string, what: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await checkPrivateDir(dir, what);
}

/** Refuses a directory that is not a directory, not ours, or open to group or others. */
export async function checkPrivateDir(dir: string, what: string): Promise<void> {
  const s = await stat(dir);
  if (!s.isDirectory()) throw new PrivatePathError(dir, `${what} ${dir} is not a directory`);
  checkOwnerAndMode(dir, what, s, "700");
}

/** Refuses a file (the BYOK master key) that is not ours or open to group or others. */
export async function checkPrivateFile(file: string, what: string): Promise<void> {
  const s = await stat(file);
  if (!s.isFile()) throw new PrivatePathError(file, `${what} ${file} is not a regular file`);
  checkOwnerAndMode(file, what, s, "600");
}

function checkOwnerAndMode(
  path: string,
  what: string,
  s: { uid: number; mode: number },
  fix: "700" | "600",
): void {
  // No POSIX owners (Windows): nothing to compare; ACLs are the operator's to set.
  const uid = process.getuid?.();
  if (uid === undefined) return;
  if (s.uid !== uid) {
    throw new PrivatePathError(
      path,
      `${what} ${path} is owned by uid ${s.uid}, not by this process (uid ${uid}): its owner can read and ` +
        `change it. Fix: chown ${uid} ${path} && chmod ${fix} ${path} (or run the server as its owner)`,
    );
  }
  const mode = s.mode & 0o777;
  if ((mode & GROUP_OTHER) !== 0) {
    throw new PrivatePathError(
      path,
      `${what} ${path} has mode ${octal(mode)}: other users can ${access(mode)} it. Fix: chmod ${fix} ${path}`,
    );
  }
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, "0")}`;
}

function access(mode: number): string {
  const read = (mode & 0o044) !== 0;
  const write = (mode & 0o022) !== 0;
  if (read && write) return "read and write";
  if (write) return "write";
  if (read) return "read";
  return "enter";
}
