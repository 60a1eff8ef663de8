import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A test CA made with the `openssl` CLI in a temp dir, issuing P-256 server certificates for
 * 127.0.0.1/localhost with the serial asked for (hex), valid for one day.
 */
export interface TestCa {
  dir: string;
  file(name: string): string;
  pem(name: string): Buffer;
  /** Writes `<name>.crt` and `<name>.key`: a new key pair and a certificate with `serial`. */
  issueServer(name: string, serial: string): void;
  /** Moves `<from>.crt`/`.key` over `<to>.crt`/`.key` by rename, as a renewal does. */
  install(from: string, to: string): void;
  remove(): void;
}

export function makeTestCa(): TestCa {
  const dir = mkdtempSync(join(tmpdir(), "sovr-ca-"));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const key = (name: string) => [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    `${name}.key`,
  ];
  openssl(
    "req",
    "-x509",
    ...key("ca"),
    "-out",
    "ca.crt",
    "-days",
    "1",
    "-subj",
    "/CN=test-ca",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  );
  return {
    dir,
    file,
    pem: (name) => readFileSync(file(name)),
    issueServer(name, serial) {
      openssl("req", ...key(name), "-out", `${name}.csr`, "-subj", `/CN=${name}`);
      writeFileSync(
        file(`${name}.ext`),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
      );
      openssl(
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-set_serial",
        `0x${serial}`,
        "-days",
        "1",
        "-out",
        `${name}.crt`,
        "-extfile",
        `${name}.ext`,
      );
    },
    install(from, to) {
      renameSync(file(`${from}.key`), file(`${to}.key`));
      renameSync(file(`${from}.crt`), file(`${to}.crt`));
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
