package dev.intake.client;

/** enqueue: the bounded queue (or the spool) is full; the event was not taken. */
public final class QueueFullException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    QueueFullException(String msg) { super(msg); }
}
