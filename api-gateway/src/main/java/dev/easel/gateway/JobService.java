package dev.easel.gateway;

import dev.easel.contracts.ControlMessage;
import dev.easel.contracts.FieldError;
import dev.easel.contracts.JobEvent;
import dev.easel.contracts.JobMessage;
import dev.easel.contracts.JobRequest;
import dev.easel.contracts.Json;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.KafkaRecord;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.jboss.logging.Logger;

/**
 * Accepting and cancelling jobs. A job is accepted once the broker acknowledged both its {@code queued} event and
 * the job itself (in that order, so no worker event can precede {@code queued} in the job's history).
 */
@ApplicationScoped
public class JobService {
    private static final Logger LOG = Logger.getLogger(JobService.class);
    private static final Duration ACK_TIMEOUT = Duration.ofSeconds(15);
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

    public Uni<JobView> submit(JobRequest request) {
        if (request == null) {
            throw new InvalidJobException(List.of(new FieldError("body", "is required: a JSON job request")));
        }
        List<FieldError> errors = request.validate();
        if (!errors.isEmpty()) {
            throw new InvalidJobException(errors);
        }
        String id = UUID.randomUUID().toString();
        long seed = request.seed() != null ? request.seed() : SEEDS.nextLong() & 0xffffffffL;
        JobRequest accepted = request.withDefaults().withSeed(seed);
        long now = System.currentTimeMillis();
        JobEvent.Queued queued = new JobEvent.Queued(id, now, seed, accepted.steps());
        return send(events, id, Json.write(queued))
                .chain(() -> send(jobs, id, Json.write(JobMessage.of(id, now, accepted)))
                        .onFailure().call(e -> send(events, id, Json.write(new JobEvent.Failed(id,
                                System.currentTimeMillis(), "not_enqueued", "the job queue did not accept the job",
                                true))).onFailure().recoverWithNull()))
                .onFailure().transform(e -> new KafkaUnavailableException(
                        "the job queue did not acknowledge the job; nothing was queued, submit it again", e))
                .map(ignored -> {
                    store.submitted(queued);
                    return view(store.require(id));
                });
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
        return emitter.sendMessage(KafkaRecord.of(key, json)).ifNoItem().after(ACK_TIMEOUT).fail()
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
            error = new JobView.Error(failed.code(), failed.message(), failed.retryable());
        } else if (terminal instanceof JobEvent.Cancelled cancelled) {
            cancelReason = cancelled.reason();
        }
        return new JobView(state.id(), status, queued == null ? null : queued.seed(),
                status.equals("queued") ? store.queuePosition(state) : null,
                terminal == null ? JobView.Progress.of(state.progress()) : null,
                started == null ? null : started.workerId(), started == null ? null : started.executionProvider(),
                images, error, cancelReason, queued == null ? null : queued.atMillis(), state.updatedAtMillis(),
                JobView.Links.of(state.id()));
    }
}
