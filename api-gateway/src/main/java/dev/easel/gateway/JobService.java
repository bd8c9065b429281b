package dev.easel.gateway;

import dev.easel.contracts.ControlMessage;
import dev.easel.contracts.FieldError;
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
import java.util.UUID;
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
    @Channel("jobs-out")
    MutinyEmitter<String> jobs;

    @Inject
    @Channel("events-out")
    MutinyEmitter<String> events;

    @Inject
    @Channel("control-out")
    MutinyEmitter<String> control;

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

    public Uni<JobView> submit(JobRequest request) {
        if (request == null) {
            throw new InvalidJobException(List.of(new FieldError("body", "is required: a JSON job request")));
        }
        List<FieldError> errors = request.validate();
        if (!errors.isEmpty()) {
            throw new InvalidJobException(errors);
        }
        String model = route(request.model());
        String id = UUID.randomUUID().toString();
        long seed = request.seed() != null ? request.seed() : SEEDS.nextLong() & 0xffffffffL;
        JobRequest accepted = request.withDefaults().withSeed(seed).withModel(model);
        long now = System.currentTimeMillis();
        JobEvent.Queued queued = new JobEvent.Queued(id, now, seed, accepted.steps(), model);
        OutgoingMessageMetadata<RecordMetadata> placed = new OutgoingMessageMetadata<>();
        Message<String> job = Message.of(Json.write(JobMessage.of(id, now, accepted)))
                .addMetadata(OutgoingKafkaRecordMetadata.<String>builder().withKey(id).withTopic(Topics.jobs(model))
                        .build())
                .addMetadata(placed);
        return send(events, id, Json.write(queued))
                .chain(() -> send(jobs, id, job)
                        .onFailure().call(e -> send(events, id, Json.write(new JobEvent.Failed(id,
                                System.currentTimeMillis(), "not_enqueued", "the job queue did not accept the job",
                                true, 0))).onFailure().recoverWithNull()))
                .onFailure().transform(e -> new KafkaUnavailableException(
                        "the job queue did not acknowledge the job; nothing was queued, submit it again", e))
                .map(ignored -> {
                    RecordMetadata where = placed.getResult();
                    store.submitted(queued, where == null ? -1 : where.offset());
                    return view(store.require(id));
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
    public Uni<JobView> cancel(String id) {
        JobState state = store.require(id);
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
