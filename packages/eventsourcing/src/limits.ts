/**
 * Largest event an event store accepts (its data and metadata as JSON, default 256 KiB): every
 * event is published to Kafka, whose brokers refuse messages over about 1 MiB; an event
 * the relay cannot publish is only recorded and skipped there, so it is refused here,
 * where the caller still gets the error.
 */
export const DEFAULT_MAX_EVENT_BYTES = 256 * 1024;

/**
 * Longest stream id or stream type (in characters) a store adapter whose storage sets no
 * limit of its own accepts (the MongoDB one; Postgres' text columns set none either). Ids
 * are keys such as a UUID or `cart-<uuid>`, types a word: anything longer is a caller's bug
 * or an attack, refused before it reaches a query.
 */
export const MAX_STREAM_NAME_LENGTH = 256;
