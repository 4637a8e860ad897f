import * as grpc from '@grpc/grpc-js';
import { create, createFileRegistry, fromBinary, toBinary, toJson, type DescMethod, type DescService } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { loadDescriptorSet } from '@shop/contracts/descriptors';
import { grpcServices } from '@shop/tools/topology';
import { clip, internals, within } from './verdicts.js';

/**
 * The contract's methods read from the descriptor set, a gRPC caller that sends any
 * request the wire allows (int64 beyond 2^53, enum numbers no enum has, timestamps no Date
 * can hold), and the verdict on its answers.
 */

const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, loadDescriptorSet()));

/** Every service of the shop's contract (package `shop.*`), from the generated descriptor set. */
export function shopServices(): DescService[] {
  const services: DescService[] = [];
  for (const type of registry) if (type.kind === 'service' && type.typeName.startsWith('shop.')) services.push(type);
  return services.sort((a, b) => a.typeName.localeCompare(b.typeName));
}

/** `shop.cart.v1.CartCommandService/AddItem` → its descriptor. */
export function shopMethods(): Map<string, DescMethod> {
  return new Map(shopServices().flatMap((s) => s.methods.map((m) => [`${s.typeName}/${m.name}`, m] as const)));
}

/** What came back from a call: the response, or the status with the field the server named (`shop-error-field`). */
export type Outcome =
  | { ok: true; code: 'OK'; response: unknown }
  | { ok: false; code: string; details: string; field: string | undefined };

/**
 * Calls the services on their own gRPC ports (the unit under test is each service's input
 * handling; the Envoy listeners only forward). The request is a message init of the
 * @bufbuild/protobuf runtime built from the descriptor set: int64 as bigint, enums as any
 * number, so that whatever the wire can carry can be sent.
 *
 * Each instance has connections of its own (a local subchannel pool): an answer that
 * breaks a connection shows in the test that provoked it, not in its neighbours'.
 */
export class ShopGrpc {
  private readonly clients = new Map<string, grpc.Client>();

  private client(service: string): grpc.Client {
    let client = this.clients.get(service);
    if (!client) {
      const topology = grpcServices.find((s) => s.services.includes(service));
      if (!topology) throw new Error(`no process of the stack serves ${service} (tools/stack/topology.ts)`);
      client = new grpc.Client(`127.0.0.1:${topology.grpcPort}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
      this.clients.set(service, client);
    }
    return client;
  }

  /**
   * A service answers a malformed request in milliseconds; no answer within `timeoutMs`
   * (generous: this is no timing check, two busy cores run the whole suite) means the
   * request hung the call or broke its connection, and is a finding. A process that is not
   * listening (one the stack is restarting) is waited for, up to a minute: that is no
   * answer of the service to this request.
   */
  async call(method: DescMethod, request: Record<string, unknown>, metadata: Record<string, string> = {}, timeoutMs = 30_000): Promise<Outcome> {
    const until = Date.now() + 60_000;
    for (;;) {
      const out = await this.once(method, request, metadata, timeoutMs);
      // No answer: the next call starts on a new connection, so that what this request did
      // to its connection is not blamed on the next (a shrunk counterexample stays honest).
      if (out.code === 'DEADLINE_EXCEEDED' || out.code === 'UNAVAILABLE') this.reconnect(method.parent.typeName);
      if (out.ok || out.code !== 'UNAVAILABLE' || !/ECONNREFUSED|No connection established/.test(out.details) || Date.now() > until) return out;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  private reconnect(service: string): void {
    this.clients.get(service)?.close();
    this.clients.delete(service);
  }

  private once(method: DescMethod, request: Record<string, unknown>, metadata: Record<string, string>, timeoutMs: number): Promise<Outcome> {
    const message = create(method.input, request as never);
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(metadata)) md.set(k, v);
    return new Promise((resolve) => {
      this.client(method.parent.typeName).makeUnaryRequest(
        `/${method.parent.typeName}/${method.name}`,
        () => Buffer.from(toBinary(method.input, message)),
        (bytes: Buffer) => toJson(method.output, fromBinary(method.output, bytes)),
        message,
        md,
        { deadline: Date.now() + timeoutMs },
        (err, response) => {
          if (!err) return resolve({ ok: true, code: 'OK', response });
          resolve({ ok: false, code: grpc.status[err.code] ?? String(err.code), details: err.details, field: err.metadata?.get('shop-error-field')[0]?.toString() });
        },
      );
    });
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }
}

/** One line for an assertion message: the outcome without the bulk of a huge echo. */
export const show = (o: Outcome): string => clip(o.ok ? `OK ${JSON.stringify(o.response)}` : `${o.code} "${o.details}" field=${o.field ?? '(none)'}`);

/**
 * Why a gRPC answer to a malformed request is wrong, or undefined when it is right: one of
 * `expected` (INVALID_ARGUMENT naming `field`, or a part of it, as `shop-error-field` and as
 * the message's first word), never INTERNAL or UNKNOWN, no internals in the message.
 */
export function judgeGrpc(out: Outcome, expected: readonly string[], field: string): string | undefined {
  if (out.code === 'INTERNAL' || out.code === 'UNKNOWN') return `answered ${out.code} (a malformed request is the client's error, never the server's)`;
  if (!expected.includes(out.code)) return `answered ${out.code}, expected ${expected.join(' or ')}`;
  if (out.ok) return undefined;
  if (internals.test(out.details)) return 'the message shows server internals';
  if (out.code === 'INVALID_ARGUMENT') {
    if (!within(out.field, field)) return `INVALID_ARGUMENT names the field "${out.field ?? '(no shop-error-field trailer)'}", expected "${field}"`;
    if (!out.details.startsWith(`${out.field}: `)) return `the message does not start with "${out.field}: "`;
  }
  return undefined;
}
