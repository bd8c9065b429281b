package dev.easel.gateway.jobs;

import dev.easel.gateway.kafka.KafkaUnavailableException;
import dev.easel.gateway.observability.GatewayMetrics;
import dev.easel.gateway.pool.ModelRouting;
import dev.easel.gateway.tenants.Idempotency;
import dev.easel.gateway.tenants.IdempotencyConflictException;
import dev.easel.gateway.tenants.TenantLimits;
import dev.easel.gateway.webhooks.WebhookTargets;

import dev.easel.contracts.ApiKey;
import dev.easel.contracts.ControlMessage;
import dev.easel.contracts.FieldError;
import dev.easel.contracts.IdempotentSubmit;
import dev.easel.contracts.JobEvent;
import dev.easel.contracts.JobMessage;
import dev.easel.contracts.JobRequest;
import dev.easel.contracts.RequestLimits;
import dev.easel.contracts.Json;
import dev.easel.contracts.Topics;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.OutgoingMessageMetadata;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

/**
 * Accepting and cancelling jobs: validation, the tenant's limits, idempotent repeats, routing to a model's queue. A job goes to the queue of its model, and only when a live worker serves that model.
 * It is accepted once the broker acknowledged both its {@code queued} event and the job itself (in that order, so no
 * worker event can precede {@code queued} in the job's history).
 */
@ApplicationScoped
public class JobService {
    private static final Logger LOG = Logger.getLogger(JobService.class);
    /** Below the 5 s a client waits at most for an answer while the broker is down (the producer gives up sooner). */
    private static final Duration ACK_TIMEOUT = Duration.ofMillis(4500);
    private static final SecureRandom SEEDS = new SecureRandom();

    @Inject
    TenantLimits limits;

    @Inject
    @Channel("jobs-out")
    MutinyEmitter<String> jobs;

    @Inject
    @Channel("events-out")
    MutinyEmitter<String> events;

    @Inject
    @Channel("control-out")
    MutinyEmitter<String> control;

    @Channel("idempotency-out")
    MutinyEmitter<String> idempotencyOut;

    @Inject
    Idempotency idempotency;

    @Inject
    WebhookTargets webhookTargets;

    @Inject
    GatewayMetrics metrics;

    @Inject
    JobStore store;

    @Inject
    ModelRouting routing;

    @Inject
    JobViews views;

    /** What a submit did: queued a new job, or found the one an earlier submit with the same Idempotency-Key made. */
    public record Submitted(JobView job, boolean repeated) {
    }

    /**
     * Validates, routes and queues a job for the key's tenant. With an {@code idempotencyKey}, a repeat of an earlier
     * submit (same key, same body, within the retention) returns that submit's job and queues nothing.
     */
    public Uni<Submitted> submit(ApiKey key, JobRequest request, String idempotencyKey) {
        if (request == null) {
            throw new InvalidJobException(List.of(new FieldError("body", "is required: a JSON job request")));
        }
        if (request.prompt() == null && request.model() != null
                && routing.kind(request.model()).equals("image-upscaler")) {
            request = request.toBuilder().prompt("").build(); // an image upscaler takes no prompt
        }
        List<FieldError> errors = request.validate(limits.imageBounds());
        if (!errors.isEmpty()) {
            boolean images = errors.stream().anyMatch(e -> e.field().equals("initImage") || e.field().equals("mask"));
            throw new InvalidJobException(errors, images ? limits.imageLimits() : java.util.Map.of());
        }
        if (idempotencyKey == null) {
            return queue(key, request, null).map(view -> new Submitted(view, false));
        }
        if (!Idempotency.isValidKey(idempotencyKey)) {
            throw new InvalidJobException(List.of(new FieldError("Idempotency-Key", "must be 1 to 255 printable ASCII"
                    + " characters without spaces, e.g. a UUID")));
        }
        String requestHash = Idempotency.hash(request);
        Optional<Submitted> repeated = repeat(key.tenant(), idempotencyKey, requestHash);
        if (repeated.isPresent()) {
            return Uni.createFrom().item(repeated.get());
        }
        if (!idempotency.claim(key.tenant(), idempotencyKey)) {
            throw new IdempotencyConflictException(409, "a submit with this Idempotency-Key is still under way; retry"
                    + " in a moment to get its job");
        }
        try {
            return queue(key, request, IdempotentSubmit.of(key.tenant(), idempotencyKey, null, requestHash, 0))
                    .map(view -> new Submitted(view, false))
                    .eventually(() -> idempotency.release(key.tenant(), idempotencyKey));
        } catch (RuntimeException e) {
            idempotency.release(key.tenant(), idempotencyKey);
            throw e;
        }
    }

    /** The job of an earlier submit with this key; 422 if that submit had another body. */
    private Optional<Submitted> repeat(String tenant, String idempotencyKey, String requestHash) {
        Optional<IdempotentSubmit> earlier = idempotency.find(tenant, idempotencyKey);
        if (earlier.isEmpty()) {
            return Optional.empty();
        }
        if (!earlier.get().requestHash().equals(requestHash)) {
            throw new IdempotencyConflictException(422, "this Idempotency-Key was used for a different request "
                    + "within the last " + idempotency.retentionHours + " h; use a new key for a new job");
        }
        try {
            JobState state = store.require(tenant, earlier.get().jobId());
            if (state.terminal() instanceof JobEvent.Failed failed && failed.code().equals("not_enqueued")) {
                return Optional.empty(); // the first submit was refused (503): this retry may queue the job
            }
            return Optional.of(new Submitted(views.view(state), true));
        } catch (JobNotFoundException e) {
            return Optional.empty();
        }
    }

    private Uni<JobView> queue(ApiKey key, JobRequest request, IdempotentSubmit idempotent) {
        limits.checkAdapters(request);
        if (request.webhook() != null) {
            webhookTargets.check(request.webhook().url());
        }
        String model = routing.route(request.model());
        checkOutput(model, request.withDefaults());
        routing.checkLoras(model, request);
        routing.checkHiresUpscaler(model, request);
        routing.checkScheduler(model, request);
        limits.admit(key);
        long now = System.currentTimeMillis();
        String id = JobIds.next(now);
        long seed = request.seed() != null ? request.seed() : SEEDS.nextLong() & 0xffffffffL;
        JobRequest accepted = request.withDefaults().withSeed(seed).withModel(model);
        JobEvent.Queued queued = new JobEvent.Queued(JobEvent.SCHEMA_VERSION, id, now, seed, accepted.steps(), model,
                key.tenant(), request.webhook() == null ? null : key.id(), request.webhook(), accepted.noise());
        OutgoingMessageMetadata<RecordMetadata> placed = new OutgoingMessageMetadata<>();
        Message<String> job = Message.of(Json.write(JobMessage.of(id, key.tenant(), now, accepted)))
                .addMetadata(OutgoingKafkaRecordMetadata.<String>builder().withKey(id).withTopic(Topics.jobs(model))
                        .build())
                .addMetadata(placed);
        // The idempotency record is durable before the job is queued, so no retry can queue a second one.
        IdempotentSubmit submitted = idempotent == null ? null : IdempotentSubmit.of(key.tenant(),
                idempotent.idempotencyKey(), id, idempotent.requestHash(), now);
        Uni<Void> recorded = submitted == null ? send(events, id, Json.write(queued))
                : Uni.combine().all().unis(send(events, id, Json.write(queued)),
                        send(idempotencyOut, IdempotentSubmit.recordKey(key.tenant(), submitted.idempotencyKey()),
                                Json.write(submitted))).discardItems()
                        .invoke(() -> idempotency.remember(submitted));
        return recorded
                .chain(() -> send(jobs, id, job)
                        .onFailure().call(e -> send(events, id, Json.write(new JobEvent.Failed(id,
                                System.currentTimeMillis(), "not_enqueued", "the job queue did not accept the job",
                                true, 0))).onFailure().recoverWithNull()))
                .onFailure().transform(e -> new KafkaUnavailableException(
                        "the job queue did not acknowledge the job; nothing was queued, submit it again", e))
                .map(ignored -> {
                    RecordMetadata where = placed.getResult();
                    store.submitted(queued, where == null ? -1 : where.offset());
                    metrics.submitted(model);
                    return views.view(store.require(key.tenant(), id));
                });
    }

    /**
     * 400 when the job's pictures would be too large or cost too much: an upscaler's output is its init image times
     * the model's factor, a hires fix's the requested size times its scale.
     */
    private void checkOutput(String model, JobRequest request) {
        String kind = routing.kind(model);
        if (kind.equals("generator")) {
            limits.checkCost(request, null, request.steps());
            if (request.hires() != null) {
                int width = JobRequest.sideOrDefault(request.width());
                int height = JobRequest.sideOrDefault(request.height());
                limits.checkOutputPixels("hires.scale", request.hires().scaled(width), request.hires().scaled(height));
            }
            return;
        }
        if (request.initImage() == null) {
            throw new InvalidJobException(List.of(new FieldError("initImage", "is required: model " + model + " is an "
                    + kind + ", which enlarges a picture; send the picture as initImage")));
        }
        RequestLimits.ImageSize input = RequestLimits.imageSize(java.util.Base64.getDecoder()
                .decode(request.initImage()));
        int factor = routing.upscaleFactor(model);
        RequestLimits.ImageSize output = new RequestLimits.ImageSize(input.width() * factor, input.height() * factor);
        limits.checkOutputPixels("initImage", output.width(), output.height());
        limits.checkCost(request, output, kind.equals("upscaler") ? request.steps() : 1);
    }

    /** Cancels a job: a queued job never starts, a running one stops at its next step. */
    public Uni<JobView> cancel(JobState state) {
        String id = state.id();
        if (state.isTerminal()) {
            return Uni.createFrom().item(views.view(state));
        }
        long now = System.currentTimeMillis();
        Uni<Void> sent = send(control, id, Json.write(ControlMessage.cancel(id, now)));
        if (state.status().equals("queued")) {
            sent = sent.chain(() -> send(events, id, Json.write(new JobEvent.Cancelled(id, now,
                    "cancelled while queued"))));
        }
        return sent.onFailure().transform(e -> new KafkaUnavailableException(
                "the cancellation was not acknowledged; try again", e)).map(ignored -> views.view(state));
    }

    private static Uni<Void> send(MutinyEmitter<String> emitter, String key, String json) {
        return send(emitter, key, Message.of(json).addMetadata(OutgoingKafkaRecordMetadata.<String>builder()
                .withKey(key).build()));
    }

    private static Uni<Void> send(MutinyEmitter<String> emitter, String key, Message<String> message) {
        return emitter.sendMessage(message).ifNoItem().after(ACK_TIMEOUT).fail()
                .onFailure().invoke(e -> LOG.warnf("Kafka did not acknowledge a message for job %s: %s", key, e));
    }
}
