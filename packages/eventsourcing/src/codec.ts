import type { DomainEvent, EventCodec } from './types.js';

/** The static side of a ts-proto message: its full name and its proto3 JSON mapping. */
export interface ProtoMessage<D> {
  readonly $type: string;
  toJSON(message: D): unknown;
  fromJSON(object: any): D;
}

type EventOf<M> = M extends ProtoMessage<infer D> ? DomainEvent<M['$type'], D> : never;

/** The union of domain events described by a list of ts-proto messages. */
export type EventsOf<Ms extends readonly ProtoMessage<any>[]> = EventOf<Ms[number]>;

/**
 * A codec over generated protobuf messages: the stored type is the message's full name
 * and the stored data its proto3 JSON, so that `buf breaking` protects stored events.
 */
export function protoCodec<const Ms extends readonly ProtoMessage<any>[]>(messages: Ms): EventCodec<EventsOf<Ms>> {
  const byType = new Map<string, ProtoMessage<any>>(messages.map((m) => [m.$type, m]));
  return {
    encode(event) {
      const message = byType.get(event.type);
      if (!message) throw new Error(`no codec for event type ${event.type}`);
      return { type: event.type, data: message.toJSON(event.data) };
    },
    decode(type, data) {
      const message = byType.get(type);
      return message ? ({ type, data: message.fromJSON(data) } as EventsOf<Ms>) : undefined;
    },
  };
}

/** Builds a domain event of one message type, typed. */
export const event = <M extends ProtoMessage<any>>(message: M, data: M extends ProtoMessage<infer D> ? D : never) =>
  ({ type: message.$type, data }) as EventOf<M>;
