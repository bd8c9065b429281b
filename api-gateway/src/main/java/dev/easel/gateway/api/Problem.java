package dev.easel.gateway.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.easel.contracts.FieldError;
import jakarta.ws.rs.core.Response;
import java.util.List;
import java.util.Map;

/**
 * An RFC 9457 problem detail; {@code errors} names each offending field, {@code limits} the limits a request ran into
 * (name to value), so a client sees what it may do without reading the docs.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Problem(String type, String title, int status, String detail, List<FieldError> errors,
        Map<String, Object> limits) {
    public static final String MEDIA_TYPE = "application/problem+json";

    static Response response(int status, String title, String detail, List<FieldError> errors) {
           return builder(status, title, detail, errors, null).build();
    }

    public static Response.ResponseBuilder builder(int status, String title, String detail, List<FieldError> errors,
            Map<String, Object> limits) {
        Problem problem = new Problem("about:blank", title, status, detail,
                errors == null || errors.isEmpty() ? null : errors, limits == null || limits.isEmpty() ? null : limits);
        return Response.status(status).type(MEDIA_TYPE).entity(problem);
    }
}
