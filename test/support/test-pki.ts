import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Certificates made for a test with the `openssl` CLI in a temp dir (P-256 keys, one day): CAs
 * and leaves signed by them, with whatever subject and extensions the test names (a SAN URI
 * such as a SPIFFE ID, say). As test/e2e/tls.test.ts makes its own.
 */
/** Extensions of a server certificate for the loopback address. */
export const SERVER_EXT = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n";

export class TestPki {
  readonly dir = mkdtempSync(join(tmpdir(), "sovr-pki-"));

  file(name: string): string {
    return join(this.dir, name);
  }

  pem(name: string): Buffer {
    return readFileSync(this.file(name));
  }

  #openssl(...args: string[]): void {
    execFileSync("openssl", args, { cwd: this.dir, stdio: "pipe" });
  }

  #newKey(name: string): string[] {
    return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`];
  }

  /** A self-signed CA: `<name>.crt`, `<name>.key`. */
  ca(name: string): this {
    this.#openssl(
      "req",
      "-x509",
      ...this.#newKey(name),
      "-out",
      `${name}.crt`,
      "-days",
      "1",
      "-subj",
      `/CN=${name}`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    );
    return this;
  }

  /**
   * A leaf signed by `signer`, subject CN `cn`, with `ext` (openssl extension lines) and
   * `serial` (hex; default a fresh one).
   */
  leaf(name: string, signer: string, cn: string, ext: string, serial?: string): this {
    this.#openssl("req", ...this.#newKey(name), "-out", `${name}.csr`, "-subj", `/CN=${cn}`);
    writeFileSync(this.file(`${name}.ext`), ext);
    this.#openssl(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${signer}.crt`,
      "-CAkey",
      `${signer}.key`,
      "-set_serial",
      serial === undefined ? String(Date.now()) : `0x${serial}`,
      "-days",
      "1",
      "-out",
      `${name}.crt`,
      "-extfile",
      `${name}.ext`,
    );
    return this;
  }

  /** Moves `<from>.crt`/`.key` over `<to>.crt`/`.key` by rename, as a certificate renewal does. */
  install(from: string, to: string): void {
    renameSync(this.file(`${from}.key`), this.file(`${to}.key`));
    renameSync(this.file(`${from}.crt`), this.file(`${to}.crt`));
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
