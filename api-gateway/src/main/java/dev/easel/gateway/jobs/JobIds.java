package dev.easel.gateway.jobs;

import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * Job ids that sort newest first: 12 hex digits of (2^48 - 1 - submit time in ms), a dash, 16 random hex digits. So the
 * bucket's own listing of {@code {tenant}/} (ascending, as S3 lists) is the tenant's jobs from the newest, and a page's
 * last id is the cursor of the next.
 */
public final class JobIds {
    private static final long MAX_MILLIS = (1L << 48) - 1;
    private static final Pattern ID = Pattern.compile("[0-9a-f]{12}-[0-9a-f]{16}");
    private static final SecureRandom RANDOM = new SecureRandom();

       private JobIds() {
    }

    static String next(long submittedAtMillis) {
        byte[] random = new byte[8];
        RANDOM.nextBytes(random);
        return String.format("%012x", MAX_MILLIS - submittedAtMillis) + "-" + HexFormat.of().formatHex(random);
    }

    static boolean isValid(String id) {
        return id != null && ID.matcher(id).matches();
    }
}
