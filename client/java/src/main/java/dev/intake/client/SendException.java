package dev.intake.client;

import java.util.List;

/** Developer mode's enqueue: the event was not accepted; the result says why. */
public final class SendException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final transient List<Result> results;

    SendException(String msg, List<Result> results) {
        super(msg);
        this.results = results;
    }

    public List<Result> results() { return results; }
}
