import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  type DescriptorProto,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt';

/**
 * gRPC server reflection (v1 and v1alpha) served from the exact descriptor set that
 * `buf build` wrote, file for file.
 *
 * Why not @grpc/reflection: it rebuilds descriptors through protobufjs, and in 1.0.x
 * that loses cross-package references (grpc-node issues #3018, #2958) — grpcurl then
 * fails with `cannot resolve type "*.common.v1.Money"`. Answering with buf's own
 * FileDescriptorProtos avoids any re-derivation.
 */
export interface ReflectionIndex {
  services: string[];
  /** Serialized FileDescriptorProto by file name. */
  files: Map<string, Uint8Array>;
  dependencies: Map<string, string[]>;
  /** Fully qualified symbol (service, method, message, enum, field…) → file name. */
  symbols: Map<string, string>;
}

/**
 * Indexes our contracts' descriptor set plus the standard health and reflection
 * services, all of which are then listed and describable.
 */
export function buildReflectionIndex(descriptorSet: Uint8Array, services: string[]): ReflectionIndex {
  const set = fromBinary(FileDescriptorSetSchema, descriptorSet);
  const standard = standardFiles().map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
  const files = new Map<string, Uint8Array>();
  const dependencies = new Map<string, string[]>();
  const symbols = new Map<string, string>();
  for (const file of [...set.file, ...standard]) {
    files.set(file.name, toBinary(FileDescriptorProtoSchema, file));
    dependencies.set(file.name, file.dependency);
    indexFile(file, symbols);
  }
  for (const s of services) {
    if (!symbols.has(s)) throw new Error(`reflection: service ${s} is not in the descriptor set (run npm run generate)`);
  }
  return { services: [...services, ...standardServices], files, dependencies, symbols };
}

function indexFile(file: FileDescriptorProto, symbols: Map<string, string>): void {
  const prefix = file.package ? `${file.package}.` : '';
  const addMessage = (m: DescriptorProto, scope: string) => {
    const name = `${scope}${m.name}`;
    symbols.set(name, file.name);
    for (const f of m.field) symbols.set(`${name}.${f.name}`, file.name);
    for (const e of m.enumType) symbols.set(`${name}.${e.name}`, file.name);
    for (const nested of m.nestedType) addMessage(nested, `${name}.`);
  };
  for (const m of file.messageType) addMessage(m, prefix);
  for (const e of file.enumType) symbols.set(`${prefix}${e.name}`, file.name);
  for (const s of file.service) {
    symbols.set(`${prefix}${s.name}`, file.name);
    for (const m of s.method) symbols.set(`${prefix}${s.name}.${m.name}`, file.name);
  }
}

/** The file and everything it imports, transitively, each once, the file first. */
function withDependencies(index: ReflectionIndex, name: string): Uint8Array[] {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  const visit = (n: string) => {
    if (seen.has(n)) return;
    seen.add(n);
    const bytes = index.files.get(n);
    if (bytes) out.push(bytes);
    for (const d of index.dependencies.get(n) ?? []) visit(d);
  };
  visit(name);
  return out;
}

interface ReflectionRequest {
  host?: string;
  file_by_filename?: string;
  file_containing_symbol?: string;
  file_containing_extension?: unknown;
  all_extension_numbers_of_type?: string;
  list_services?: string;
  message_request?: string;
}

export function answer(index: ReflectionIndex, req: ReflectionRequest): Record<string, unknown> {
  const base = { valid_host: req.host ?? '', original_request: req };
  const notFound = (what: string) => ({ ...base, error_response: { error_code: grpc.status.NOT_FOUND, error_message: `${what} not found` } });
  switch (req.message_request) {
    case 'list_services':
      return { ...base, list_services_response: { service: index.services.map((name) => ({ name })) } };
    case 'file_by_filename': {
      const name = req.file_by_filename ?? '';
      return index.files.has(name) ? { ...base, file_descriptor_response: { file_descriptor_proto: withDependencies(index, name) } } : notFound(`file ${name}`);
    }
    case 'file_containing_symbol': {
      const symbol = (req.file_containing_symbol ?? '').replace(/^\./, '');
      const file = index.symbols.get(symbol);
      return file ? { ...base, file_descriptor_response: { file_descriptor_proto: withDependencies(index, file) } } : notFound(`symbol ${symbol}`);
    }
    case 'file_containing_extension':
      return notFound('extension');
    case 'all_extension_numbers_of_type':
      return { ...base, all_extension_numbers_response: { base_type_name: req.all_extension_numbers_of_type ?? '', extension_number: [] } };
    default:
      return { ...base, error_response: { error_code: grpc.status.INVALID_ARGUMENT, error_message: 'unknown reflection request' } };
  }
}

const require = createRequire(import.meta.url);
const reflectionProtoDir = require.resolve('@grpc/reflection/package.json').replace(/package\.json$/, 'build/proto');
const loadReflection = (version: 'v1' | 'v1alpha') =>
  protoLoader.loadSync(`grpc/reflection/${version}/reflection.proto`, { includeDirs: [reflectionProtoDir], keepCase: true, oneofs: true, bytes: Buffer });

const standardServices = ['grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];

/**
 * Descriptors of reflection.proto as proto-loader serialized them: one file without
 * imports or maps, which protobufjs gets right. (health.proto has a map, which it does
 * not: that one is vendored into third_party/proto and comes with buf's descriptor set.)
 */
function standardFiles(): Uint8Array[] {
  const messages = [
    loadReflection('v1')['grpc.reflection.v1.ServerReflectionRequest'],
    loadReflection('v1alpha')['grpc.reflection.v1alpha.ServerReflectionRequest'],
  ] as Array<{ fileDescriptorProtos: Buffer[] }>;
  return messages.flatMap((m) => m.fileDescriptorProtos);
}

function serviceDefinition(version: 'v1' | 'v1alpha'): grpc.ServiceDefinition {
  return (grpc.loadPackageDefinition(loadReflection(version)) as any).grpc.reflection[version].ServerReflection.service;
}

/** Registers reflection v1 and v1alpha (grpcurl tries v1, then falls back) on `server`. */
export function addReflection(server: grpc.Server, index: ReflectionIndex): void {
  const handler: grpc.handleBidiStreamingCall<ReflectionRequest, Record<string, unknown>> = (call) => {
    call.on('data', (req: ReflectionRequest) => call.write(answer(index, req)));
    call.on('end', () => call.end());
    call.on('error', () => call.end());
  };
  for (const version of ['v1', 'v1alpha'] as const) {
    server.addService(serviceDefinition(version), { ServerReflectionInfo: handler });
  }
}

