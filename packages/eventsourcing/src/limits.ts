/**
 * Largest event an event store accepts (its data and metadata as JSON, default 256 KiB): every
 * event is published to Kafka, whose brokers refuse messages over about 1 MiB; an event
 * the relay cannot publish is only recorded and skipped there, so it is refused here,
 * where the caller still gets the error.
 */
export const DEFAULT_MAX_EVENT_BYTES = 256 * 1024;
