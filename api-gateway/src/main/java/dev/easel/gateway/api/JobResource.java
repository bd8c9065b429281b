package dev.easel.gateway.api;

import dev.easel.gateway.events.EventHistory;
import dev.easel.gateway.jobs.ImageNotFoundException;
import dev.easel.gateway.jobs.InvalidJobException;
import dev.easel.gateway.jobs.JobConflictException;
import dev.easel.gateway.jobs.JobService;
import dev.easel.gateway.jobs.JobViews;
import dev.easel.gateway.jobs.JobState;
import dev.easel.gateway.jobs.JobStore;
import dev.easel.gateway.jobs.JobView;
import dev.easel.gateway.storage.ImageLinks;
import dev.easel.gateway.tenants.Caller;

import dev.easel.contracts.JobEvent;
import dev.easel.contracts.JobRequest;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.sse.OutboundSseEvent;
import jakarta.ws.rs.sse.Sse;
import io.smallrye.common.annotation.Blocking;
import java.net.URI;
import org.eclipse.microprofile.openapi.annotations.enums.SchemaType;
import org.eclipse.microprofile.openapi.annotations.enums.SecuritySchemeType;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;
import org.eclipse.microprofile.openapi.annotations.security.SecurityRequirement;
import org.eclipse.microprofile.openapi.annotations.security.SecurityScheme;

/** The jobs API: submit, follow (SSE), inspect, cancel, fetch images; each call as the tenant of its API key. */
@Path("/v1/jobs")
@SecurityScheme(securitySchemeName = "apiKey", type = SecuritySchemeType.HTTP, scheme = "bearer",
        description = "An Easel API key (esk_...), from ./easel keys create")
@SecurityRequirement(name = "apiKey")
public class JobResource {
    @Inject
    JobService service;

    @Inject
    JobViews views;

    @Inject
    JobStore store;

    @Inject
    ImageLinks links;

    @Inject
    EventHistory history;

    @Inject
    Caller caller;

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    @Blocking // validation decodes images and resolves webhook hosts, and an idempotent retry may wait for the topic
    public Response submit(JobRequest request, @HeaderParam("Idempotency-Key") String idempotencyKey) {
        // On a worker thread, so waiting for the broker's acknowledgements (bounded by their timeouts) blocks no one.
        JobService.Submitted submitted = service.submit(caller.key(), request, idempotencyKey).await().indefinitely();
        // A relative Location (RFC 9110 allows it): making it absolute looks up the current request, whose context was
        // once found ended after the wait for the broker (a 500 for a job already queued).
        return Response.status(submitted.repeated() ? 200 : 202).entity(submitted.job())
                .header(HttpHeaders.LOCATION, submitted.job().links().self()).build();
    }

    /** The caller's jobs, newest first, a page at a time: pass a page's {@code nextCursor} as the next one's cursor. */
    @GET
    @Produces(MediaType.APPLICATION_JSON)
    @Blocking // may list the bucket and read final records
    public JobViews.JobPage list(@QueryParam("status") String status,
            @QueryParam("limit") @Parameter(description = "jobs per page, 1 to 100 (20)",
                    schema = @Schema(type = SchemaType.INTEGER, minimum = "1", maximum = "100")) String limit,
            @QueryParam("cursor") String cursor) {
        return views.list(caller.tenant(), status, limit, cursor);
    }

    @GET
    @Path("{id}")
    @Produces(MediaType.APPLICATION_JSON)
    public JobView get(@PathParam("id") String id) {
        return views.view(store.require(caller.tenant(), id));
    }

    @DELETE
    @Path("{id}")
    @Produces(MediaType.APPLICATION_JSON)
    public Uni<Response> cancel(@PathParam("id") String id) {
        JobState state = store.require(caller.tenant(), id);
        if (state.isTerminal()) {
            throw new JobConflictException("Job already finished", "job " + id + " is " + state.status()
                    + "; only queued or running jobs can be cancelled");
        }
        return service.cancel(state).map(view -> Response.accepted(view).build());
    }

    /**
     * The job's events as Server-Sent Events: event name = type, id = the event's offset in the events topic. With
     * {@code Last-Event-ID} only the events after it are sent. The stream ends after the terminal event; a finished
     * job's stream replays its history and ends.
     */
    @GET
    @Path("{id}/events")
    @Produces(MediaType.SERVER_SENT_EVENTS)
    public Multi<OutboundSseEvent> events(@PathParam("id") String id, @HeaderParam("Last-Event-ID") String lastEventId,
            @Context Sse sse) {
        JobState state = store.require(caller.tenant(), id);
        long after = parseEventId(lastEventId);
        return Multi.createFrom().emitter(emitter -> {
            JobState.Subscriber subscriber = new JobState.Subscriber() {
                @Override
                public void event(JobState.StoredEvent stored) {
                    emitter.emit(sse.newEventBuilder().name(stored.event().type()).id(Long.toString(stored.id()))
                            .data(stored.json()).build());
                }

                @Override
                public void completed() {
                    emitter.complete();
                }
            };
            emitter.onTermination(() -> state.unsubscribe(subscriber));
            history.subscribe(state, after, subscriber);
        });
    }

    @GET
    @Path("{id}/images/{index}")
    public Response image(@PathParam("id") String id, @PathParam("index") int index) {
        JobState state = store.require(caller.tenant(), id);
        if (!(state.terminal() instanceof JobEvent.Completed completed)) {
            throw new JobConflictException("No images yet", "job " + id + " is " + state.status()
                    + "; images exist once it completed");
        }
        return completed.images().stream().filter(image -> image.index() == index).findFirst()
                .map(image -> Response.status(302).location(URI.create(links.url(image.bucket(), image.objectKey())))
                        .build())
                .orElseThrow(() -> new ImageNotFoundException("job " + id + " has " + completed.images().size()
                        + " image(s), numbered from 0"));
    }

    private static long parseEventId(String lastEventId) {
        if (lastEventId == null || lastEventId.isBlank()) {
            return -1;
        }
        try {
            return Long.parseLong(lastEventId.strip());
        } catch (NumberFormatException e) {
            throw new InvalidJobException(java.util.List.of(new dev.easel.contracts.FieldError("Last-Event-ID",
                    "must be an event id from this stream, got '" + lastEventId + "'")));
        }
    }
}
