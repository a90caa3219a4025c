package dev.intake.client;

/**
 * An event with the sampling unit ids of the user it is about, for backends that produce on
 * behalf of many users: pass it to send or enqueue in place of the event. Null or empty ids fall
 * back to the client's.
 */
public record UnitEvent(Object event, Units units) {}
