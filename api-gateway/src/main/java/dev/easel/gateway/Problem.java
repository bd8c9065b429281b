package dev.easel.gateway;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.easel.contracts.FieldError;
import jakarta.ws.rs.core.Response;
import java.util.List;

/** An RFC 9457 problem detail; {@code errors} names each offending field. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Problem(String type, String title, int status, String detail, List<FieldError> errors) {
    public static final String MEDIA_TYPE = "application/problem+json";

    static Response response(int status, String title, String detail, List<FieldError> errors) {
        Problem problem = new Problem("about:blank", title, status, detail, errors == null || errors.isEmpty() ? null : errors);
        return Response.status(status).type(MEDIA_TYPE).entity(problem).build();
    }
}
