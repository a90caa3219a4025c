package dev.intake.client;

import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * The ids sampling draws on: a stream's sample.unit names one of them. A null field falls back
 * to the client's id (in {@link UnitEvent}) or keeps it ({@link IntakeClient#setUnits}).
 */
public record Units(String session, String pageview, String device) {
    private static final SecureRandom RANDOM = new SecureRandom();

    String id(String unit) {
        switch (unit) {
            case "session": return session;
            case "pageview": return pageview;
            case "device": return device;
            default: return null;
        }
    }

    /** This with the non-empty ids of o in their place. */
    Units with(Units o) {
        if (o == null) return this;
        return new Units(nz(o.session) ? o.session : session, nz(o.pageview) ? o.pageview : pageview, nz(o.device) ? o.device : device);
    }

    boolean isEmpty() { return !nz(session) && !nz(pageview) && !nz(device); }

    private static boolean nz(String s) { return s != null && !s.isEmpty(); }

    /** 20 random hex digits: the default session, pageview and device ids. */
    static String newUnitID() {
        byte[] b = new byte[10];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** Three new random ids. */
    public static Units random() { return new Units(newUnitID(), newUnitID(), newUnitID()); }
}
