package dev.easel.gateway;

import dev.easel.contracts.ApiKey;
import dev.easel.contracts.ControlMessage;
import dev.easel.contracts.FieldError;
import dev.easel.contracts.IdempotentSubmit;
import dev.easel.contracts.JobEvent;
import dev.easel.contracts.JobMessage;
import dev.easel.contracts.JobRequest;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

/**
 * Accepting and cancelling jobs. A job goes to the queue of its model, and only when a live worker serves that model.
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
    FinishedJobs finishedJobs;

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
    ImageLinks links;

    @Inject
    WorkerRegistry workers;

    @Inject
    QueueFigures queues;

    @ConfigProperty(name = "easel.default-model")
    Optional<String> configuredDefaultModel;

    /** The model of jobs that name none. */
    public Optional<String> defaultModel() {
        return workers.defaultModel(configuredDefaultModel.filter(m -> !m.isBlank()));
    }

    /** Accepted jobs of {@code modelId} that no worker took yet (an estimate from the broker's figures). */
    public long queuedJobs(String modelId) {
        return queues.queuedJobs(modelId, busyDevices(modelId));
    }

    /** How long until a job submitted now to {@code modelId} would start (an estimate; null before one ran). */
    public Long startEtaMillis(String modelId) {
        return queues.startEtaMillis(modelId, (int) Math.min(Integer.MAX_VALUE, queuedJobs(modelId) + 1),
                devices(modelId), busyDevices(modelId));
    }

    private int devices(String modelId) {
        return workers.serving(modelId).stream().mapToInt(WorkerRegistry.WorkerView::devices).sum();
    }

    private int busyDevices(String modelId) {
        return workers.serving(modelId).stream().mapToInt(WorkerRegistry.WorkerView::busyDevices).sum();
    }

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
        List<FieldError> errors = request.validate();
        if (!errors.isEmpty()) {
            throw new InvalidJobException(errors);
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

    /** One page of a tenant's jobs, newest first; {@code nextCursor} is absent on the last page. */
    public record JobPage(List<JobView> jobs, String nextCursor) {
    }

    static final List<String> STATUSES = List.of("queued", "running", "completed", "failed", "cancelled");
    /** Jobs looked at per page at most, so a rare status cannot make one request read the whole bucket. */
    private static final int MAX_SCANNED = 500;

    /**
     * The tenant's jobs after {@code cursor}, newest first: those held in memory merged with those whose objects are in
     * the bucket (any age), filtered by {@code status}.
     */
    public JobPage list(String tenant, String status, Integer limit, String cursor) {
        List<FieldError> errors = new ArrayList<>();
        int pageSize = limit == null ? 20 : limit;
        if (pageSize < 1 || pageSize > 100) {
            errors.add(new FieldError("limit", "is " + pageSize + "; must be between 1 and 100"));
        }
        if (status != null && !STATUSES.contains(status)) {
            errors.add(new FieldError("status", "is '" + status + "'; one of " + String.join(", ", STATUSES)));
        }
        if (cursor != null && !JobIds.isValid(cursor)) {
            errors.add(new FieldError("cursor", "is not a cursor from this list; pass the nextCursor of a page"));
        }
        if (!errors.isEmpty()) {
            throw new InvalidJobException(errors);
        }
        java.util.TreeSet<String> held = new java.util.TreeSet<>();
        for (String id : store.ids(tenant)) {
            if (cursor == null || id.compareTo(cursor) > 0) {
                held.add(id);
            }
        }
        java.util.Iterator<String> stored = finishedJobs.jobIds(tenant, cursor);
        List<JobView> page = new ArrayList<>();
        String last = null;
        String storedHead = stored.hasNext() ? stored.next() : null;
        int scanned = 0;
        while (page.size() < pageSize && scanned < MAX_SCANNED && (!held.isEmpty() || storedHead != null)) {
            String id;
            if (storedHead == null || !held.isEmpty() && held.first().compareTo(storedHead) <= 0) {
                id = held.pollFirst();
                if (id.equals(storedHead)) {
                    storedHead = stored.hasNext() ? stored.next() : null;
                }
            } else {
                id = storedHead;
                storedHead = stored.hasNext() ? stored.next() : null;
            }
            scanned++;
            last = id;
            try {
                JobState state = store.require(tenant, id);
                if (status == null || status.equals(state.status())) {
                    page.add(view(state));
                }
            } catch (JobNotFoundException e) {
                // images stored but no final record yet: the job is held by another replica's memory only
            }
        }
        boolean more = !held.isEmpty() || storedHead != null;
        return new JobPage(page, more ? last : null);
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
            return Optional.of(new Submitted(view(state), true));
        } catch (JobNotFoundException e) {
            return Optional.empty();
        }
    }

    private Uni<JobView> queue(ApiKey key, JobRequest request, IdempotentSubmit idempotent) {
        limits.checkCost(request.withDefaults());
        limits.checkImages(request);
        if (request.webhook() != null) {
            webhookTargets.check(request.webhook().url());
        }
        String model = route(request.model());
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
                    return view(store.require(key.tenant(), id));
                });
    }

    /** The model a job goes to: the one it names if a live worker serves it, else the default. */
    private String route(String requested) {
        List<String> served = workers.servedModels();
        if (served.isEmpty()) {
            throw new NoWorkersException("no live worker serves any model right now, so the job could not start;"
                    + " nothing was queued: start a worker (./easel worker add) or try again shortly");
        }
        String model = requested != null ? requested : defaultModel().orElseThrow(() -> new InvalidJobException(
                List.of(new FieldError("model", "is required here: the workers serve several models ("
                        + String.join(", ", served) + ") and no default is configured (easel.default-model)"))));
        if (!served.contains(model)) {
            throw new InvalidJobException(List.of(new FieldError("model", "'" + model + "' is not served by any live"
                    + " worker; served models: " + String.join(", ", served))));
        }
        return model;
    }

    /** Cancels a job: a queued job never starts, a running one stops at its next step. */
    public Uni<JobView> cancel(JobState state) {
        String id = state.id();
        if (state.isTerminal()) {
            return Uni.createFrom().item(view(state));
        }
        long now = System.currentTimeMillis();
        Uni<Void> sent = send(control, id, Json.write(ControlMessage.cancel(id, now)));
        if (state.status().equals("queued")) {
            sent = sent.chain(() -> send(events, id, Json.write(new JobEvent.Cancelled(id, now,
                    "cancelled while queued"))));
        }
        return sent.onFailure().transform(e -> new KafkaUnavailableException(
                "the cancellation was not acknowledged; try again", e)).map(ignored -> view(state));
    }

    private static Uni<Void> send(MutinyEmitter<String> emitter, String key, String json) {
        return send(emitter, key, Message.of(json).addMetadata(OutgoingKafkaRecordMetadata.<String>builder()
                .withKey(key).build()));
    }

    private static Uni<Void> send(MutinyEmitter<String> emitter, String key, Message<String> message) {
        return emitter.sendMessage(message).ifNoItem().after(ACK_TIMEOUT).fail()
                .onFailure().invoke(e -> LOG.warnf("Kafka did not acknowledge a message for job %s: %s", key, e));
    }

    public JobView view(JobState state) {
        JobEvent.Queued queued = state.queued();
        JobEvent.Started started = state.started();
        JobEvent terminal = state.terminal();
        String status = state.status();
        List<JobView.Image> images = null;
        JobView.Error error = null;
        String cancelReason = null;
        if (terminal instanceof JobEvent.Completed completed) {
            images = new ArrayList<>();
            for (JobEvent.Image image : completed.images()) {
                images.add(new JobView.Image(image.index(), links.url(image.bucket(), image.objectKey()),
                        "/v1/jobs/" + state.id() + "/images/" + image.index(), image.objectKey(), image.width(),
                        image.height(), image.seed()));
            }
        } else if (terminal instanceof JobEvent.Failed failed) {
            error = new JobView.Error(failed.code(), failed.message(), failed.retryable(), failed.attempts());
        } else if (terminal instanceof JobEvent.Cancelled cancelled) {
            cancelReason = cancelled.reason();
        }
        JobEvent.Requeued requeued = state.requeued();
        String workerState = started == null || terminal != null || status.equals("queued") ? null
                : workers.isAlive(started.workerId()) ? "alive" : "gone";
        int busy = busyDevices(state.model());
        Integer position = status.equals("queued") ? queues.position(state, busy) : null;
        return new JobView(state.id(), status, queued == null ? null : queued.seed(), position,
                queues.startEtaMillis(state.model(), position, devices(state.model()), busy),
                terminal == null ? JobView.Progress.of(state.progress()) : null, state.currentAttempt(),
                requeued == null ? null : requeued.reason(),
                started == null ? null : started.workerId(), workerState,
                started == null ? null : started.executionProvider(),
                images, error, cancelReason, queued == null ? null : queued.atMillis(), state.updatedAtMillis(),
                JobView.Links.of(state.id()));
    }
}
