/**
 * @grpc/grpc-js and @grpc/proto-loader are optional dependencies: they are imported when the first gRPC
 * server or client is made, never when this module is, so programs that do not speak gRPC never need them.
 * The .proto files ship in the package's `proto/` folder and are loaded at run time, so other languages
 * generate their stubs from the very same files.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as GrpcJs from '@grpc/grpc-js';
import type * as ProtoLoader from '@grpc/proto-loader';
import { BilhetagemError, ErrorCodes } from '../errors.ts';
import { StoreErrorCodes } from '../ports/errors.ts';

export type GrpcModule = typeof GrpcJs;
export type ProtoLoaderModule = typeof ProtoLoader;

export interface GrpcRuntime {
  grpc: GrpcModule;
  /** The service definitions of bilhetagem.v1 and grpc.health.v1, ready for Server.addService and makeClientConstructor. */
  services: {
    validation: GrpcJs.ServiceDefinition;
    transformation: GrpcJs.ServiceDefinition;
    ingest: GrpcJs.ServiceDefinition;
    health: GrpcJs.ServiceDefinition;
  };
}

export const PROTO_FILES = ['bilhetagem/v1/bilhetagem.proto', 'grpc/health/v1/health.proto'] as const;

/**
 * How messages look in JavaScript: field names as in the .proto (snake_case), enums as their names,
 * 64-bit integers as numbers (a stream's sequence stays far below 2^53), absent fields as their defaults.
 */
export const LOADER_OPTIONS = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: false } as const;

/** Where `proto/` is: from src/grpc/ (tsx), or from a chunk in dist/ or dist/cli/ (the package root is above both). */
const CANDIDATES = ['../../proto/', '../proto/', '../../../proto/'];

export function findProtoDir(from: string = import.meta.url): string | undefined {
  for (const candidate of CANDIDATES) {
    const dir = fileURLToPath(new URL(candidate, from));
    if (existsSync(join(dir, PROTO_FILES[0]))) return dir;
  }
  return undefined;
}

let runtime: Promise<GrpcRuntime> | undefined;

export function loadGrpc(): Promise<GrpcRuntime> {
  runtime ??= buildRuntime(() => import('@grpc/grpc-js'), () => import('@grpc/proto-loader')).catch((error: unknown) => {
    runtime = undefined; // a later call may find the package installed meanwhile
    throw error;
  });
  return runtime;
}

/** The importers stand in for `import(...)`, so a test can show what happens when a package is missing. */
export async function buildRuntime(importGrpc: () => Promise<unknown>, importLoader: () => Promise<unknown>): Promise<GrpcRuntime> {
  const grpc = await importPackage<GrpcModule>('@grpc/grpc-js', importGrpc);
  const loader = await importPackage<ProtoLoaderModule>('@grpc/proto-loader', importLoader);
  const dir = findProtoDir();
  if (!dir) {
    throw new BilhetagemError(ErrorCodes.FILE_READ, `the .proto files of bilhetagem (proto/${PROTO_FILES[0]}) were not found beside the package; reinstall it`, {
      details: { file: `proto/${PROTO_FILES[0]}` },
    });
  }
  const definition = loader.loadSync(
    PROTO_FILES.map((f) => join(dir, f)),
    { ...LOADER_OPTIONS, includeDirs: [dir] },
  );
  const service = (name: string) => {
    const s = definition[name];
    if (!s) throw new BilhetagemError(ErrorCodes.FILE_INVALID, `the .proto files in ${dir} do not define the service ${name}; reinstall the package`, { details: { file: dir } });
    return s as unknown as GrpcJs.ServiceDefinition;
  };
  return {
    grpc,
    services: {
      validation: service('bilhetagem.v1.ValidationService'),
      transformation: service('bilhetagem.v1.TransformationService'),
      ingest: service('bilhetagem.v1.IngestService'),
      health: service('grpc.health.v1.Health'),
    },
  };
}

async function importPackage<T>(name: string, importer: () => Promise<unknown>): Promise<T> {
  let loaded: unknown;
  try {
    loaded = await importer();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | null)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new BilhetagemError(StoreErrorCodes.DRIVER_MISSING, `The package "${name}" is needed for gRPC; install it with: npm install @grpc/grpc-js @grpc/proto-loader`, {
        statusCode: 500,
        cause: error,
        details: { package: name },
      });
    }
    throw error;
  }
  // Both are CommonJS: under ESM their exports may arrive as `default`.
  const mod = loaded as { default?: T } & T;
  return (mod.default ?? mod) as T;
}
