import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type CryptoKey, exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";

/**
 * A local OIDC identity provider on 127.0.0.1 for the workload identity tests: discovery
 * document and JWKS served by node:http, RS256 keys generated here with jose, tokens signed
 * here. {@link rotate} replaces the published key (a new `kid`); `jwksFetches` counts how often
 * the router asked for the keys.
 */
export class TestIssuer {
  jwksFetches = 0;
  #key!: { kid: string; privateKey: CryptoKey; publicJwk: Record<string, unknown> };
  #keyCount = 0;

  private constructor(
    private readonly server: Server,
    readonly issuer: string,
  ) {}

  static async start(): Promise<TestIssuer> {
    let self: TestIssuer | undefined;
    const server = createServer((req, res) => {
      if (req.url === "/jwks") self!.jwksFetches++;
      const body =
        req.url === "/.well-known/openid-configuration"
          ? { issuer: self!.issuer, jwks_uri: `${self!.issuer}/jwks` }
          : req.url === "/jwks"
            ? { keys: [self!.#key.publicJwk] }
            : undefined;
      res.writeHead(body ? 200 : 404, { "content-type": "application/json" });
      res.end(JSON.stringify(body ?? {}));
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    self = new TestIssuer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    await self.rotate();
    return self;
  }

  /** Publishes a new key under a new kid; tokens signed with the old one no longer verify. */
  async rotate(): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
    const kid = `k${++this.#keyCount}`;
    this.#key = {
      kid,
      privateKey,
      publicJwk: { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" },
    };
    return kid;
  }

  get kid(): string {
    return this.#key.kid;
  }

  /** The current public key as a JWK (for the key-confusion token). */
  get publicJwk(): Record<string, unknown> {
    return this.#key.publicJwk;
  }

  /**
   * A token signed with the current key. Defaults: `iss` this issuer, `aud` "sovr", issued now,
   * expiring in 5 minutes; `claims` override or add (`undefined` removes a default).
   */
  async sign(
    claims: JWTPayload & Record<string, unknown> = {},
    opts: { kid?: string; key?: CryptoKey } = {},
  ): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const payload: Record<string, unknown> = {
      iss: this.issuer,
      aud: "sovr",
      iat: now,
      exp: now + 300,
      ...claims,
    };
    for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
    return new SignJWT(payload)
      .setProtectedHeader({ alg: "RS256", kid: opts.kid ?? this.#key.kid, typ: "JWT" })
      .sign(opts.key ?? this.#key.privateKey);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A JWS compact token with `alg: none` and no signature (RFC 7519 §6). */
export function unsecuredToken(payload: Record<string, unknown>): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${b64({ alg: "none", typ: "JWT" })}.${b64(payload)}.`;
}
