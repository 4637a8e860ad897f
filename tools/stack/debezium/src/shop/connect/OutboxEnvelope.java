package shop.connect;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import java.util.regex.Pattern;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.connector.ConnectRecord;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.transforms.Transformation;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The last step of the Debezium outbox relay: turns the envelope that Debezium's EventRouter
 * builds from an outbox row (its `payload` field, the row's `data`, plus the envelope fields
 * id, type, streamId, streamType, version, position, occurredAt and metadata) into the value
 * the built-in relay publishes (packages/eventsourcing envelope.ts, toKafkaMessage): one JSON
 * object, fields in the same order, `data` and `metadata` as JSON (Debezium carries jsonb
 * columns as strings), occurredAt as JavaScript's toISOString writes it. It also adds the
 * `traceparent` header when the metadata holds a well-formed one, as the built-in relay does.
 * No library SMT does this: Kafka's and Debezium's transforms cannot embed a JSON string
 * column as JSON inside another object.
 *
 * Records that are not such envelopes (none with the connector settings the stack uses) pass
 * unchanged.
 */
public class OutboxEnvelope<R extends ConnectRecord<R>> implements Transformation<R> {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final DateTimeFormatter ISO_MILLIS = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
    /** W3C trace-context traceparent, version 00 layout (envelope.ts isTraceparent). */
    private static final Pattern TRACEPARENT = Pattern.compile("^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$");

    @Override
    public R apply(R record) {
        if (!(record.value() instanceof Struct)) {
            return record;
        }
        Struct in = (Struct) record.value();
        if (in.schema().field("payload") == null || in.schema().field("streamId") == null) {
            return record;
        }
        ObjectNode out = JSON.createObjectNode();
        out.put("id", in.get("id").toString());
        out.put("type", in.getString("type"));
        out.put("streamId", in.getString("streamId"));
        out.put("streamType", in.getString("streamType"));
        out.put("version", ((Number) in.get("version")).longValue());
        out.put("position", ((Number) in.get("position")).longValue());
        out.put("occurredAt", ISO_MILLIS.format(OffsetDateTime.parse(in.getString("occurredAt")).toInstant()));
        out.set("data", parse(in.get("payload"), "data"));
        JsonNode metadata = parse(in.get("metadata"), "metadata");
        out.set("metadata", metadata);
        JsonNode traceparent = metadata.get("traceparent");
        if (traceparent != null && traceparent.isTextual() && isTraceparent(traceparent.textValue())) {
            record.headers().addString("traceparent", traceparent.textValue());
        }
        String value;
        try {
            value = JSON.writeValueAsString(out);
        }
        catch (Exception e) {
            throw new DataException("outbox envelope could not be written as JSON", e);
        }
        return record.newRecord(record.topic(), record.kafkaPartition(), record.keySchema(), record.key(),
                Schema.STRING_SCHEMA, value, record.timestamp(), record.headers());
    }

    private static JsonNode parse(Object text, String field) {
        if (text == null) {
            return JSON.createObjectNode();
        }
        try {
            return JSON.readTree(text.toString());
        }
        catch (Exception e) {
            throw new DataException("outbox column " + field + " is not JSON", e);
        }
    }

    static boolean isTraceparent(String value) {
        var m = TRACEPARENT.matcher(value);
        return m.matches() && !m.group(1).equals("ff") && !m.group(2).matches("0+") && !m.group(3).matches("0+");
    }

    @Override
    public ConfigDef config() {
        return new ConfigDef();
    }

    @Override
    public void configure(Map<String, ?> configs) {
    }

    @Override
    public void close() {
    }
}
