package dev.easel.gateway.api;

import dev.easel.gateway.jobs.ImageNotFoundException;
import dev.easel.gateway.jobs.InvalidJobException;
import dev.easel.gateway.jobs.JobConflictException;
import dev.easel.gateway.tenants.UnauthorizedException;
import dev.easel.gateway.jobs.JobNotFoundException;
import dev.easel.gateway.kafka.KafkaUnavailableException;
import dev.easel.gateway.pool.NoWorkersException;
import dev.easel.gateway.tenants.IdempotencyConflictException;
import dev.easel.gateway.tenants.LimitExceededException;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import dev.easel.contracts.FieldError;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.Request;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import java.util.List;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/** Every error leaves the gateway as application/problem+json. */
public class ProblemMappers {

    @ServerExceptionMapper
    public Response invalid(InvalidJobException e) {
        return Problem.builder(400, "Invalid job request", e.getMessage(), e.errors(), e.limits()).build();
    }

    @ServerExceptionMapper
    public Response idempotency(IdempotencyConflictException e) {
        return Problem.response(e.status(), e.status() == 422 ? "Idempotency-Key reused" : "Submit in progress",
                e.getMessage(), null);
    }

    @ServerExceptionMapper
    public Response limited(LimitExceededException e) {
        return Problem.builder(429, "Too many requests", e.getMessage(), null, e.limits())
                .header("Retry-After", Long.toString(e.retryAfterSeconds())).build();
    }

    @ServerExceptionMapper
    public Response unauthorized(UnauthorizedException e) {
        String challenge = "Bearer realm=\"easel\"" + (e.error() == null ? "" : ", error=\"" + e.error() + "\"");
        return Problem.builder(401, "Unauthorized", e.getMessage(), null, null)
                .header(jakarta.ws.rs.core.HttpHeaders.WWW_AUTHENTICATE, challenge).build();
    }

    @ServerExceptionMapper
    public Response conflict(JobConflictException e) {
        return Problem.response(409, e.title(), e.getMessage(), null);
    }

    @ServerExceptionMapper
    public Response noSuchImage(ImageNotFoundException e) {
        return Problem.response(404, "No such image", e.getMessage(), null);
    }

    @ServerExceptionMapper
    public Response notFound(JobNotFoundException e) {
        return Problem.response(404, "Job not found", e.getMessage(), null);
    }

    // Quarkus maps the Jackson exceptions it knows to plain JSON; these more specific mappers take precedence.
    @ServerExceptionMapper
    public Response mismatched(MismatchedInputException e) {
        return unreadable(e);
    }

    @ServerExceptionMapper
    public Response malformed(JsonParseException e) {
        return unreadable(e);
    }

    @ServerExceptionMapper
    public Response unreadable(JsonProcessingException e) {
        if (e instanceof UnrecognizedPropertyException unknown) {
            return Problem.response(400, "Unknown field", "'" + unknown.getPropertyName() + "' is not a field here",
                    List.of(new FieldError(unknown.getPropertyName(), "is not a field here; known fields: "
                            + String.join(", ", unknown.getKnownPropertyIds().stream().map(Object::toString)
                                    .sorted().toList()))));
        }
        String field = fieldOf(e);
        InputCoercionException tooLarge = e instanceof InputCoercionException coercion ? coercion
                : e.getCause() instanceof InputCoercionException coercion ? coercion : null;
        if (tooLarge != null && field != null) {
            // A number too large for its field: the JSON is well formed, the value is not.
            boolean anInt = tooLarge.getTargetType() == int.class || tooLarge.getTargetType() == Integer.class;
            return wrongType(field, anInt ? "an integer from -2^31 to 2^31-1" : "an integer from -2^63 to 2^63-1");
        }
        if (e instanceof StreamReadException read) {
            JsonLocation at = read.getLocation();
            return Problem.response(400, "Unreadable JSON body", "the body is not valid JSON"
                    + (at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")") + ": "
                    + e.getOriginalMessage(), null);
        }
        if (e instanceof MismatchedInputException mismatch) {
            String expected = mismatch.getTargetType() == null ? null : typeName(mismatch.getTargetType());
            if (field == null) {
                return Problem.response(400, "Unreadable JSON body", "the body must be "
                        + (expected == null ? "a JSON object" : expected), null);
            }
            return wrongType(field, expected);
        }
        return Problem.response(400, "Unreadable JSON body", e.getOriginalMessage(), null);
    }

    private static Response wrongType(String field, String expected) {
        String message = expected == null ? "has the wrong type" : "has the wrong type; expected " + expected;
        return Problem.response(400, "Unreadable JSON body", field + " " + message,
                List.of(new FieldError(field, message)));
    }

    /** The field a reading error is about, or null when it is about the body as a whole. */
    private static String fieldOf(JsonProcessingException e) {
        if (e instanceof JsonMappingException mapping && !mapping.getPath().isEmpty()) {
            return mapping.getPath().get(mapping.getPath().size() - 1).getFieldName();
        }
        if (e instanceof StreamReadException read && read.getProcessor() != null) {
            return read.getProcessor().getParsingContext().getCurrentName();
        }
        return e.getCause() instanceof JsonProcessingException cause ? fieldOf(cause) : null;
    }

    /** A JSON reader's name for a Java type. */
    private static String typeName(Class<?> type) {
        if (type == String.class) {
            return "a string";
        }
        if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
            return "an integer";
        }
        if (type == Double.class || type == double.class || type == Float.class || type == float.class) {
            return "a number";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "true or false";
        }
        return "a JSON " + (type.isRecord() ? "object" : type.getSimpleName());
    }

    @ServerExceptionMapper
    public Response unavailable(KafkaUnavailableException e) {
        return Problem.response(503, "Job queue unavailable", e.getMessage(), null);
    }

    @ServerExceptionMapper
    public Response noWorkers(NoWorkersException e) {
        return Response.fromResponse(Problem.response(503, "No workers", e.getMessage(), null))
                .header("Retry-After", "5").build();
    }

    /** The framework's own refusals (no such route, method or media type): Easel's code throws none of these. */
    @ServerExceptionMapper
    public Response web(WebApplicationException e, Request request, UriInfo uri) {
        if (e.getCause() instanceof JsonProcessingException unreadable) {
            // The body reader wraps what Jackson could not read (broken JSON, a number out of range) in a bare 400.
            return unreadable(unreadable);
        }
        int status = e.getResponse().getStatus();
        String route = request.getMethod() + " " + uri.getPath();
        String detail = switch (status) {
            case 404 -> "there is no " + route + "; the API is described at /q/openapi";
            case 405 -> uri.getPath() + " does not take " + request.getMethod()
                    + "; the API is described at /q/openapi";
            case 415 -> "send the body as JSON, with Content-Type: application/json";
            default -> e.getMessage();
        };
        return Problem.response(status, Response.Status.fromStatusCode(status) == null ? "Error"
                : Response.Status.fromStatusCode(status).getReasonPhrase(), detail, null);
    }
}
