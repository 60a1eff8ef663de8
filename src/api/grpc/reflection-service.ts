import { type DescFile, type DescMessage, type DescService, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha, which share one wire format), so
 * grpcurl and `buf curl` work without local protos. Answers from the descriptors compiled into
 * src/gen; every file is sent with its transitive imports.
 */
export class ReflectionIndex {
  readonly #files = new Map<string, DescFile>();
  readonly #symbols = new Map<string, DescFile>();
  readonly serviceNames: string[];

  constructor(services: readonly DescService[]) {
    this.serviceNames = services.map((s) => s.typeName);
    for (const s of services) this.#addFile(s.file);
  }

  #addFile(file: DescFile): void {
    if (this.#files.has(file.proto.name)) return;
    this.#files.set(file.proto.name, file);
    const addMessage = (m: DescMessage) => {
      this.#symbols.set(m.typeName, file);
      for (const f of m.fields) this.#symbols.set(`${m.typeName}.${f.name}`, file);
      m.nestedMessages.forEach(addMessage);
      for (const e of m.nestedEnums) this.#symbols.set(e.typeName, file);
    };
    file.messages.forEach(addMessage);
    for (const e of file.enums) this.#symbols.set(e.typeName, file);
    for (const s of file.services) {
      this.#symbols.set(s.typeName, file);
      for (const m of s.methods) this.#symbols.set(`${s.typeName}.${m.name}`, file);
    }
    for (const dep of file.dependencies) this.#addFile(dep);
  }

  fileByName(name: string): DescFile | undefined {
    return this.#files.get(name);
  }

  fileContainingSymbol(symbol: string): DescFile | undefined {
    return this.#symbols.get(symbol.replace(/^\./, ""));
  }

  /** The serialised FileDescriptorProtos of `file` and everything it imports, file first. */
  encodeWithDependencies(file: DescFile): Uint8Array[] {
    const out: Uint8Array[] = [];
    const seen = new Set<string>();
    const visit = (f: DescFile) => {
      if (seen.has(f.proto.name)) return;
      seen.add(f.proto.name);
      out.push(toBinary(FileDescriptorProtoSchema, f.proto));
      f.dependencies.forEach(visit);
    };
    visit(file);
    return out;
  }
}

type Request = v1.ServerReflectionRequest;
type Response = Omit<v1.ServerReflectionResponse, "$typeName" | "originalRequest"> & {
  originalRequest?: Request;
};

/** gRPC status codes used in ErrorResponse (grpc/status.h). */
const NOT_FOUND = 5;
const UNIMPLEMENTED = 12;

function answer(index: ReflectionIndex, req: Request): Response["messageResponse"] {
  const r = req.messageRequest;
  const notFound = (what: string) => ({
    case: "errorResponse" as const,
    value: {
      $typeName: "grpc.reflection.v1.ErrorResponse" as const,
      errorCode: NOT_FOUND,
      errorMessage: what,
    },
  });
  const files = (file: DescFile | undefined, what: string) =>
    file
      ? {
          case: "fileDescriptorResponse" as const,
          value: {
            $typeName: "grpc.reflection.v1.FileDescriptorResponse" as const,
            fileDescriptorProto: index.encodeWithDependencies(file),
          },
        }
      : notFound(what);
  switch (r.case) {
    case "listServices":
      return {
        case: "listServicesResponse",
        value: {
          $typeName: "grpc.reflection.v1.ListServiceResponse",
          service: index.serviceNames.map((name) => ({
            $typeName: "grpc.reflection.v1.ServiceResponse",
            name,
          })),
        },
      };
    case "fileByFilename":
      return files(index.fileByName(r.value), `file not found: ${r.value}`);
    case "fileContainingSymbol":
      return files(index.fileContainingSymbol(r.value), `symbol not found: ${r.value}`);
    case "fileContainingExtension":
      return notFound(`extension not found: ${r.value.containingType}(${r.value.extensionNumber})`);
    case "allExtensionNumbersOfType":
      // None of our messages declare extension ranges.
      return {
        case: "allExtensionNumbersResponse",
        value: {
          $typeName: "grpc.reflection.v1.ExtensionNumberResponse",
          baseTypeName: r.value,
          extensionNumber: [],
        },
      };
    default:
      return {
        case: "errorResponse",
        value: {
          $typeName: "grpc.reflection.v1.ErrorResponse",
          errorCode: UNIMPLEMENTED,
          errorMessage: "unknown request",
        },
      };
  }
}

/** Registers both reflection versions on `router`. */
export function registerReflection(router: ConnectRouter, index: ReflectionIndex): void {
  router.service(v1.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) {
        yield { validHost: req.host, originalRequest: req, messageResponse: answer(index, req) };
      }
    },
  });
  // v1alpha messages are field-for-field identical to v1; only the type names differ.
  router.service(v1alpha.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) {
        const res = answer(index, req as unknown as Request);
        yield {
          validHost: req.host,
          originalRequest: req,
          messageResponse: res as unknown as v1alpha.ServerReflectionResponse["messageResponse"],
        };
      }
    },
  });
}
