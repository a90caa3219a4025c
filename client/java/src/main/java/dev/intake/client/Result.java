package dev.intake.client;

import java.util.List;
import java.util.Map;

/**
 * The outcome of one event.
 *
 * @param index    the event's position in the send call (enqueued events: 0)
 * @param id       its meta.id
 * @param stream   its meta.stream
 * @param status   what became of it
 * @param code     the HTTP status of the last answer (0: none came)
 * @param attempts how many times it was posted
 * @param error    why it was not accepted (null when it was, or when it was sampled out by rate)
 * @param errors   the edge's validation errors of an invalid event (keyword, instancePath, message, ...)
 * @param event    developer mode: the event as produced (enriched) or as seen when invalid, as JSON
 * @param topic    developer mode: the Kafka topic of an accepted event
 */
public record Result(int index, String id, String stream, Status status, int code, int attempts, String error,
                     List<Map<String, Object>> errors, String event, String topic) {

    public enum Status {
        /** The edge answered that Kafka acknowledged it. */
        ACCEPTED,
        /** The edge refused it as invalid: never retried. */
        INVALID,
        /** Not acknowledged after the retries, or refused for a reason another attempt would not change. */
        FAILED,
        /** Not sent: out of its stream's sample, or its stream is not configured (error says so). */
        SAMPLED_OUT
    }
}
