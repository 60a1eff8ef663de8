import {
  create,
  type DescMessage,
  type DescMethod,
  type DescService,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";

/**
 * A plain `@grpc/grpc-js` client for one of our services, (de)serialising with protobuf-es:
 * real gRPC interop (HTTP/2, grpc framing, trailers) without a proto loader.
 */
export class GrpcJsClient {
  readonly #client: grpc.Client;
  readonly #key: string | undefined;

  /** `key`: an API key sent as `authorization: Bearer <key>` on every call. */
  constructor(
    address: string,
    opts: { key?: string; credentials?: grpc.ChannelCredentials; options?: grpc.ClientOptions } = {},
  ) {
    this.#client = new grpc.Client(
      address,
      opts.credentials ?? grpc.credentials.createInsecure(),
      opts.options,
    );
    this.#key = opts.key;
  }

  #metadata(md: grpc.Metadata): grpc.Metadata {
    if (this.#key && !md.get("authorization").length) md.set("authorization", `Bearer ${this.#key}`);
    return md;
  }

  close(): void {
    this.#client.close();
  }

  #path(service: DescService, method: DescMethod): string {
    return `/${service.typeName}/${method.name}`;
  }

  unary<I extends DescMessage, O extends DescMessage>(
    service: DescService,
    method: DescMethod & { input: I; output: O },
    input: MessageInitShape<I>,
    metadata = new grpc.Metadata(),
    options: grpc.CallOptions = {},
  ): Promise<MessageShape<O>> {
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest(
        this.#path(service, method),
        (m: MessageShape<I>) => Buffer.from(toBinary(method.input, m)),
        (b: Buffer) => fromBinary(method.output, b),
        create(method.input, input),
        this.#metadata(metadata),
        options,
        (err, res) => (err ? reject(err) : resolve(res as MessageShape<O>)),
      );
    });
  }

  serverStream<I extends DescMessage, O extends DescMessage>(
    service: DescService,
    method: DescMethod & { input: I; output: O },
    input: MessageInitShape<I>,
    metadata = new grpc.Metadata(),
    options: grpc.CallOptions = {},
  ): grpc.ClientReadableStream<MessageShape<O>> {
    return this.#client.makeServerStreamRequest(
      this.#path(service, method),
      (m: MessageShape<I>) => Buffer.from(toBinary(method.input, m)),
      (b: Buffer) => fromBinary(method.output, b),
      create(method.input, input),
      this.#metadata(metadata),
      options,
    );
  }
}

/** Collects a server stream; rejects with the stream's gRPC error. */
export function collect<T>(stream: grpc.ClientReadableStream<T>): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const out: T[] = [];
    stream.on("data", (m: T) => out.push(m));
    stream.on("error", reject);
    stream.on("end", () => resolve(out));
  });
}
