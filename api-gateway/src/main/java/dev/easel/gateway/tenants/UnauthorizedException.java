package dev.easel.gateway.tenants;

/**
 * No valid API key: 401 with {@code WWW-Authenticate: Bearer realm="easel"}, plus {@code error} (RFC 6750:
 * invalid_request, invalid_token) when the request presented something.
 */
public class UnauthorizedException extends RuntimeException {
    private final String error;

    public UnauthorizedException(String error, String detail) {
        super(detail);
        this.error = error;
    }

    /** The RFC 6750 error code, or null when no credentials were sent. */
    public String error() {
        return error;
    }
}
