package dev.intake.client;

/**
 * A prepared event: its JSON (UTF-8, with meta.id) and what the client needs to know of it.
 * units: enqueued before the stream configuration was loaded, the sender samples it by these ids;
 * null once decided.
 */
final class Rec {
    final String id;
    final String stream;
    final byte[] raw;
    final Units units;

    Rec(String id, String stream, byte[] raw, Units units) {
        this.id = id;
        this.stream = stream;
        this.raw = raw;
        this.units = units;
    }

    Rec withUnits(Units u) { return new Rec(id, stream, raw, u); }
}
