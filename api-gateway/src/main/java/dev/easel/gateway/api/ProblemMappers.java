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

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import dev.easel.contracts.FieldError;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.Response;
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
        if (e instanceof com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException unknown) {
            return Problem.response(400, "Unknown field", "'" + unknown.getPropertyName() + "' is not a field here",
                    List.of(new FieldError(unknown.getPropertyName(), "is not a field here; known fields: "
                            + String.join(", ", unknown.getKnownPropertyIds().stream().map(Object::toString)
                                    .sorted().toList()))));
        }
        String field = null;
        String expected = null;
        if (e instanceof MismatchedInputException mismatch) {
            if (!mismatch.getPath().isEmpty()) {
                field = mismatch.getPath().get(mismatch.getPath().size() - 1).getFieldName();
            }
            expected = mismatch.getTargetType() == null ? null : typeName(mismatch.getTargetType());
        }
        String detail = e instanceof InvalidFormatException format
                ? "value " + format.getValue() + " has the wrong type" : e.getOriginalMessage();
        List<FieldError> errors = field == null ? null : List.of(new FieldError(field, expected == null
                ? "has the wrong type" : "has the wrong type; expected " + expected));
        return Problem.response(400, "Unreadable JSON body", detail, errors);
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

    @ServerExceptionMapper
    public Response web(WebApplicationException e) {
        int status = e.getResponse().getStatus();
        return Problem.response(status, Response.Status.fromStatusCode(status) == null ? "Error"
                : Response.Status.fromStatusCode(status).getReasonPhrase(), e.getMessage(), null);
    }
}
