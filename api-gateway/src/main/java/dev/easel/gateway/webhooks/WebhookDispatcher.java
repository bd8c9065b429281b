package dev.easel.gateway.webhooks;

import dev.easel.gateway.kafka.KafkaClients;
import dev.easel.gateway.events.ConsumerLoop;
import dev.easel.gateway.jobs.JobState;
import dev.easel.gateway.jobs.JobStore;
import dev.easel.gateway.tenants.ApiKeys;

import dev.easel.contracts.ApiKey;
import dev.easel.contracts.JobEvent;
import dev.easel.contracts.JobRequest;
import dev.easel.contracts.Json;
import dev.easel.contracts.Topics;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Delivers jobs' events to their webhooks. The gateway replicas share {@code easel.events} in one consumer group
 * ({@code easel-webhooks}), so each event is delivered by one replica, and a replica that stops hands its partitions to
 * the others. A delivery is a POST of the event's JSON, signed ({@link WebhookSignature}); anything but a 2xx answer
 * within 5 s is retried after 1, 2, 4, 8 and 16 s (6 attempts over about half a minute), then given up and logged.
 * Deliveries of one job go out in order, and never hold up the job: they run on their own threads. Events are read in
 * batches gathered for {@code easel.webhooks.gather-ms} (250), so a delivery starts up to that much after its event.
 */
@ApplicationScoped
public class WebhookDispatcher {
    private static final Logger LOG = Logger.getLogger(WebhookDispatcher.class);
    static final List<Long> RETRY_DELAYS_MILLIS = List.of(1000L, 2000L, 4000L, 8000L, 16000L);
    private static final Duration ATTEMPT_TIMEOUT = Duration.ofSeconds(5);

    /** A job's webhook and the key whose secret signs its deliveries. */
    private record Target(JobRequest.Webhook webhook, String keyId) {
    }

    @Inject
    JobStore store;

    @Inject
    ApiKeys keys;

    @Inject
    WebhookTargets targets;

    @Inject
    KafkaClients kafka;

    @ConfigProperty(name = "easel.kafka.read", defaultValue = "true")
    boolean enabled;

    @ConfigProperty(name = "easel.webhooks.max-event-age-seconds", defaultValue = "600")
    long maxEventAgeSeconds;

    @ConfigProperty(name = "easel.webhooks.gather-ms", defaultValue = "250")
    int gatherMillis;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(ATTEMPT_TIMEOUT)
            .followRedirects(HttpClient.Redirect.NEVER).build();
    private final ScheduledExecutorService retries = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "easel-webhook-retries");
        thread.setDaemon(true);
        return thread;
    });
    private final Map<String, Target> targetsByJob = new ConcurrentHashMap<>();
    /** Per job, the end of its last delivery: the next one starts after it. */
    private final Map<String, CompletableFuture<Void>> lastDelivery = new ConcurrentHashMap<>();
    private final ConsumerLoop loop = new ConsumerLoop();

    void onStart(@Observes StartupEvent event) {
        if (!enabled) {
            return;
        }
        Properties props = kafka.properties("easel-gateway-webhooks");
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "easel-webhooks");
        // A new group starts from the oldest events; those older than max-event-age are skipped, not delivered late.
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        // The broker answers this consumer once events have gathered for gather-ms (or a megabyte of them) rather
        // than once per produce: most events belong to jobs without a webhook, and a fetch per event cost the broker
        // and the gateway more than delivering the few that have one a quarter second later.
        props.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, Integer.toString(gatherMillis));
        props.put(ConsumerConfig.FETCH_MIN_BYTES_CONFIG, Integer.toString(1 << 20));
        loop.start("easel-webhooks", props, "reading the events for webhooks failed; no more deliveries from this"
                + " replica", (kafka, running) -> {
                    kafka.subscribe(List.of(Topics.EVENTS));
                    while (running.getAsBoolean()) {
                        for (ConsumerRecord<String, String> record : kafka.poll(Duration.ofMillis(500))) {
                            onEvent(record);
                        }
                    }
                });
    }

    void onStop(@Observes ShutdownEvent event) throws InterruptedException {
        loop.stop();
        retries.shutdownNow();
    }

    private void onEvent(ConsumerRecord<String, String> record) {
        // Most events belong to jobs without a webhook: known from the key before the JSON is parsed (a job's webhook
        // comes with its queued event, which is always read).
        boolean queuedEvent = record.value() != null && record.value().startsWith("{\"type\":\"queued\"");
        if (record.key() != null && !queuedEvent && target(record.key()).isEmpty()) {
            return;
        }
        JobEvent event;
        try {
            event = Json.read(record.value(), JobEvent.class);
        } catch (IllegalArgumentException e) {
            return;
        }
        if (event instanceof JobEvent.Queued queued && queued.webhook() != null) {
            targetsByJob.put(queued.jobId(), new Target(queued.webhook(), queued.keyId()));
        }
        Optional<Target> target = target(event.jobId());
        if (event.isTerminal()) {
            targetsByJob.remove(event.jobId());
        }
        if (target.isEmpty() || !target.get().webhook().eventsOrDefault().contains(event.type())
                || event.atMillis() < System.currentTimeMillis() - maxEventAgeSeconds * 1000) {
            return;
        }
        Target to = target.get();
        CompletableFuture<Void> done = new CompletableFuture<>();
        CompletableFuture<Void> previous = lastDelivery.put(event.jobId(), done);
        Runnable start = () -> attempt(to, event, record.value(), 1, done);
        if (previous == null) {
            start.run();
        } else {
            previous.whenComplete((ignored, error) -> start.run());
        }
        done.whenComplete((ignored, error) -> lastDelivery.remove(event.jobId(), done));
    }

    /** The job's webhook: from its queued event, as this dispatcher or the gateway's store saw it. */
    private Optional<Target> target(String jobId) {
        Target known = targetsByJob.get(jobId);
        if (known != null) {
            return Optional.of(known);
        }
        return store.find(jobId).map(JobState::queued).filter(queued -> queued.webhook() != null)
                .map(queued -> new Target(queued.webhook(), queued.keyId()));
    }

    private void attempt(Target target, JobEvent event, String body, int attempt, CompletableFuture<Void> done) {
        Optional<ApiKey> key = keys.byId(target.keyId());
        if (key.isEmpty()) {
            LOG.warnf("webhook of job %s: its key %s was revoked; %s not delivered", event.jobId(), target.keyId(),
                    event.type());
            done.complete(null);
            return;
        }
        Optional<String> refusal = targets.refusal(target.webhook().url());
        if (refusal.isPresent()) {
            LOG.warnf("webhook of job %s not called: %s", event.jobId(), refusal.get());
            done.complete(null);
            return;
        }
        HttpRequest request = HttpRequest.newBuilder(URI.create(target.webhook().url())).timeout(ATTEMPT_TIMEOUT)
                .header("Content-Type", "application/json")
                .header("Easel-Signature", WebhookSignature.header(key.get().webhookSecret(),
                        System.currentTimeMillis() / 1000, body))
                .header("Easel-Event", event.type())
                .header("Easel-Job-Id", event.jobId())
                .header("Easel-Delivery-Attempt", Integer.toString(attempt))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        http.sendAsync(request, HttpResponse.BodyHandlers.discarding()).whenComplete((response, error) -> {
            if (error == null && response.statusCode() / 100 == 2) {
                done.complete(null);
                return;
            }
            String outcome = error != null ? error.toString() : "HTTP " + response.statusCode();
            if (attempt > RETRY_DELAYS_MILLIS.size()) {
                LOG.warnf("webhook of job %s: %s not delivered after %d attempts (last: %s)", event.jobId(),
                        event.type(), attempt, outcome);
                done.complete(null);
                return;
            }
            LOG.infof("webhook of job %s: attempt %d of %s failed (%s); retrying", event.jobId(), attempt,
                    event.type(), outcome);
            retries.schedule(() -> attempt(target, event, body, attempt + 1, done),
                    RETRY_DELAYS_MILLIS.get(attempt - 1), TimeUnit.MILLISECONDS);
        });
    }
}
