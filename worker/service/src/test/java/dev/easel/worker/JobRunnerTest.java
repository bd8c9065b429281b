package dev.easel.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.easel.contracts.FinishedJob;
import dev.easel.contracts.JobEvent;
import dev.easel.contracts.JobMessage;
import dev.easel.contracts.JobRequest;
import dev.easel.contracts.Json;
import dev.easel.engine.model.ModelFolder;
import dev.easel.engine.model.OrtRuntime;
import dev.easel.engine.model.RuntimeOptions;
import dev.easel.engine.adapter.AdapterLibrary;
import dev.easel.engine.pipeline.Pipeline;
import dev.easel.engine.pipeline.StableDiffusionPipeline;
import dev.easel.models.ModelGenerator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How {@link JobRunner} settles a job's record for each outcome (ACCEPT: done for good, RELEASE: another attempt,
 * REJECT: failed for good, dead-lettered) and what clients are told, on the real engine with the generated toy model.
 */
class JobRunnerTest {
    private static final int MAX_ATTEMPTS = 3;

    @TempDir
    static Path folder;

    private static ModelFolder toy;
    private static ModelFolder withoutEncoder;
    private static Device device;

    private Recorded world;
    private Set<String> cancelled;
    private JobRunner runner;

    @BeforeAll
    static void loadModels() throws IOException {
        Path toyFolder = ModelGenerator.write(ModelGenerator.Spec.of(ModelGenerator.Kind.TOY), folder.resolve("toy"));
        Path noEncoder = folder.resolve("noencoder");
        copy(toyFolder, noEncoder);
        deleteTree(noEncoder.resolve("vae_encoder"));
        OrtRuntime runtime = new OrtRuntime(new RuntimeOptions("cpu", 0, 1, 0));
        toy = ModelFolder.load(toyFolder, runtime);
        withoutEncoder = ModelFolder.load(noEncoder, runtime);
        Path broken = Files.createDirectories(folder.resolve("broken"));
        Files.writeString(broken.resolve("model_index.json"), "{}");
        // "toy" and "noencoder" are held from the start; "toy-cold" is loaded by the job that needs it, and "broken"
        // cannot be loaded at all.
        device = new Device(0, new ResidentModels(List.of(new ResidentModels.Model("toy", toyFolder, 1, false),
                new ResidentModels.Model("noencoder", noEncoder, 1, false),
                new ResidentModels.Model("toy-cold", toyFolder, 1, false),
                new ResidentModels.Model("broken", broken, 1, false)),
                dir -> dir.equals(broken) ? Pipeline.load(dir, runtime, AdapterLibrary.empty(), Map.of())
                        : new StableDiffusionPipeline(dir.equals(noEncoder) ? withoutEncoder : toy), Long.MAX_VALUE));
        device.pipeline("toy");
        device.pipeline("noencoder");
    }

    @AfterAll
    static void close() {
        device.close();
    }

    @BeforeEach
    void newWorld() {
        world = new Recorded();
        cancelled = ConcurrentHashMap.newKeySet();
        newRunner();
    }

    private void newRunner() {
        newRunner(Map.of());
    }

    private void newRunner(Map<String, String> settings) {
        Map<String, String> env = new java.util.HashMap<>(Map.of("EASEL_WORKER_ID", "unit-worker",
                "EASEL_MAX_ATTEMPTS", Integer.toString(MAX_ATTEMPTS), "EASEL_MODEL_DIR", folder.toString()));
        env.putAll(settings);
        runner = new JobRunner(WorkerConfig.fromEnvironment(env), world, world, cancelled::contains,
                Tracing.fromEnvironment(Map.of(), "unit"));
    }

    @Test
    void aPacedJobOffersItsDeviceForTheNextOnlyAsItNearsItsEnd() throws Exception {
        // Steps held to 50 ms (as the pool benchmarks do): the device is offered when 200 ms are left
        // (EASEL_RESERVE_AHEAD_MS), after step 16 of 20, not after the first, whose engine time alone is a few ms.
        newRunner(Map.of("EASEL_MIN_STEP_MS", "50", "EASEL_RESERVE_AHEAD_MS", "200"));
        long stepsBeforeOffer = stepsBeforeTheDeviceIsOffered(job("j-paced", request(20)));
        assertTrue(stepsBeforeOffer >= 15, "offered after " + stepsBeforeOffer + " of 20 steps");
    }

    @Test
    void aHiresJobOffersItsDeviceNoSoonerThanItsSecondPass() throws Exception {
        // A reserve so long that any estimate is within it: the offer comes at the first step the estimate may be
        // trusted, the second pass's first (its steps are the slower ones).
        newRunner(Map.of("EASEL_RESERVE_AHEAD_MS", "3600000"));
        JobRequest request = JobRequest.builder("a red circle on a blue background").size(64, 64).steps(4)
                .scheduler("euler").seed(5L).hires(new JobRequest.Hires(2.0, "latent", 3, 0.7)).build();
        long stepsBeforeOffer = stepsBeforeTheDeviceIsOffered(job("j-hires", request));
        List<JobEvent.Progress> steps = world.events.stream().filter(event -> event instanceof JobEvent.Progress)
                .map(event -> (JobEvent.Progress) event).toList();
        long firstPass = steps.stream().filter(step -> Integer.valueOf(1).equals(step.pass())).count();
        assertTrue(firstPass > 0 && firstPass < steps.size(), "two passes: " + steps);
        assertEquals(firstPass, stepsBeforeOffer, "offered at the second pass's first step");
    }

    /** Runs {@code record}'s job; how many steps were reported when its device was first offered for the next. */
    private long stepsBeforeTheDeviceIsOffered(ConsumerRecord<String, byte[]> record) throws Exception {
        JobRunner.Begun begun = runner.begin(record, 1, false);
        java.util.concurrent.atomic.AtomicLong steps = new java.util.concurrent.atomic.AtomicLong(-1);
        runner.generate(begun.job(), device, null, () -> false, () -> steps.compareAndSet(-1,
                world.events.stream().filter(event -> event instanceof JobEvent.Progress).count()));
        return steps.get();
    }

    @Test
    void aJobThatCompletesIsAcceptedAfterItsImagesAndFinalRecordAreStored() throws Exception {
        assertEquals(JobRunner.Settlement.ACCEPT, run(job("j-done", request(4)), 1, () -> false));
        assertEquals(List.of("started", "completed"), world.lifecycle());
        assertEquals(4, world.events.stream().filter(e -> e instanceof JobEvent.Progress).count(), "one per step");
        assertEquals(List.of("acme/j-done/0.png"), world.stored);
        assertEquals("completed", world.finished.get(0).terminal().type());
        assertTrue(world.durable.contains(world.last()), "the terminal event is sent durably");
        assertEquals(List.of(), world.deadLetters);
    }

    @Test
    void aJobWhoseModelTheDeviceDoesNotHoldSaysItIsLoadingFirst() throws Exception {
        assertEquals(JobRunner.Settlement.ACCEPT, run(job("j-cold", request(2), "toy-cold"), 1, () -> false));
        assertEquals(List.of("loading", "started", "completed"), world.lifecycle());
        JobEvent.Loading loading = (JobEvent.Loading) world.events.get(0);
        assertEquals("toy-cold", loading.model());
        assertEquals("unit-worker", loading.workerId());
        assertTrue(device.holds("toy-cold"));
        world = new Recorded();
        newRunner();
        assertEquals(JobRunner.Settlement.ACCEPT, run(job("j-warm", request(2), "toy-cold"), 1, () -> false));
        assertEquals(List.of("started", "completed"), world.lifecycle(), "held now: no load");
    }

    @Test
    void aModelThatCannotLoadSendsItsJobBackUntilTheAttemptsRunOut() throws Exception {
        assertEquals(JobRunner.Settlement.RELEASE, run(job("j-broken", request(2), "broken"), 1, () -> false));
        assertEquals(List.of("loading", "requeued"), world.lifecycle());
        assertTrue(((JobEvent.Requeued) world.last()).reason().contains("model broken could not be loaded on worker"
                + " unit-worker"), ((JobEvent.Requeued) world.last()).reason());
        assertEquals(JobRunner.Settlement.REJECT, run(job("j-broken", request(2), "broken"), MAX_ATTEMPTS,
                () -> false));
        JobEvent.Failed failed = (JobEvent.Failed) world.last();
        assertEquals("model_unavailable", failed.code());
        assertTrue(failed.message().contains("failed to load on this device"), "the second try is refused at once,"
                + " not loaded again: " + failed.message());
    }

    @Test
    void aJobCancelledBeforeItStartsIsAcceptedUnrun() throws Exception {
        cancelled.add("j-early");
        assertEquals(JobRunner.Settlement.ACCEPT, run(job("j-early", request(4)), 1, () -> false));
        assertEquals(List.of("cancelled"), world.lifecycle());
        assertEquals("cancelled before it started", ((JobEvent.Cancelled) world.last()).reason());
    }

    @Test
    void aJobCancelledWhileRunningStopsAtItsNextStepAndIsAccepted() throws Exception {
        world.onPublish = event -> {
            if (event instanceof JobEvent.Progress progress && progress.step() == 2) {
                cancelled.add("j-late");
            }
        };
        assertEquals(JobRunner.Settlement.ACCEPT, run(job("j-late", request(8)), 1, () -> false));
        assertEquals(List.of("started", "cancelled"), world.lifecycle());
        assertEquals("cancelled after 2 steps", ((JobEvent.Cancelled) world.last()).reason());
        assertEquals(List.of(), world.stored);
    }

    @Test
    void aJobStoppedByTheWorkersShutdownIsReleasedForAnotherAttempt() throws Exception {
        assertEquals(JobRunner.Settlement.RELEASE, run(job("j-shutdown", request(4)), 1, () -> true));
        assertEquals(List.of("started", "requeued"), world.lifecycle());
        JobEvent.Requeued requeued = (JobEvent.Requeued) world.last();
        assertEquals(2, requeued.attempt());
        assertTrue(requeued.reason().contains("shut down"), requeued.reason());
        assertEquals(List.of(), world.deadLetters);
    }

    @Test
    void storageDownReleasesTheJobUntilItsLastAttemptThenRejectsIt() throws Exception {
        world.storageDown = true;
        assertEquals(JobRunner.Settlement.RELEASE, run(job("j-s3", request(2)), 1, () -> false));
        assertTrue(((JobEvent.Requeued) world.last()).reason().contains("could not store its images"));
        assertEquals(JobRunner.Settlement.REJECT, run(job("j-s3", request(2)), MAX_ATTEMPTS, () -> false));
        JobEvent.Failed failed = (JobEvent.Failed) world.last();
        assertEquals("storage_unavailable", failed.code());
        assertTrue(failed.retryable());
        assertEquals(MAX_ATTEMPTS, failed.attempts());
        assertTrue(world.deadLetters.get(0).startsWith("storage_unavailable"), world.deadLetters.toString());
    }

    @Test
    void aStoreThatRefusesTheResultsFailsTheJobAtOnceWithoutAnotherAttempt() throws Exception {
        world.storageRefuses = true;
        assertEquals(JobRunner.Settlement.REJECT, run(job("j-refused", request(2)), 1, () -> false));
        assertEquals(List.of("started", "failed"), world.lifecycle(), "no requeue: a 4xx is the same every time");
        JobEvent.Failed failed = (JobEvent.Failed) world.last();
        assertEquals("storage_refused", failed.code());
        assertEquals(false, failed.retryable());
        assertTrue(world.deadLetters.get(0).startsWith("storage_refused"), world.deadLetters.toString());
    }

    @Test
    void anUnreadableMessageIsRejectedAndDeadLetteredAtOnce() throws Exception {
        ConsumerRecord<String, byte[]> poison = new ConsumerRecord<>("easel.jobs.toy", 0, 7, "j-poison",
                "{not json".getBytes(StandardCharsets.UTF_8));
        assertEquals(JobRunner.Settlement.REJECT, run(poison, 1, () -> false));
        assertEquals("invalid_message", ((JobEvent.Failed) world.last()).code());
        assertTrue(world.deadLetters.get(0).startsWith("invalid_message"), world.deadLetters.toString());
    }

    @Test
    void aModelErrorFailsTheJobForGoodAndDeadLettersIt() throws Exception {
        String picture = Base64.getEncoder().encodeToString(png());
        JobRequest imageToImage = request(4).toBuilder().initImage(picture).strength(0.5).build();
        assertEquals(JobRunner.Settlement.REJECT, run(job("j-model", imageToImage, "noencoder"), 1, () -> false));
        JobEvent.Failed failed = (JobEvent.Failed) world.last();
        assertEquals("model_error", failed.code());
        assertTrue(failed.message().contains("vae_encoder"), failed.message());
        assertTrue(world.deadLetters.get(0).startsWith("model_error"), world.deadLetters.toString());
    }

    @Test
    void aRequestTheModelRefusesFailsWithoutAnotherAttempt() throws Exception {
        JobRequest tooNarrow = request(4).toBuilder().size(100, 64).build();
        assertEquals(JobRunner.Settlement.ACCEPT, run(job("j-invalid", tooNarrow), 1, () -> false));
        assertEquals(List.of("failed"), world.lifecycle());
        assertEquals("invalid_request", ((JobEvent.Failed) world.last()).code());
    }

    @Test
    void anUnexpectedErrorIsRetriedUntilTheLastAttempt() throws Exception {
        world.onPublish = event -> {
            if (event instanceof JobEvent.Progress) {
                throw new IllegalStateException("the producer is closed");
            }
        };
        assertEquals(JobRunner.Settlement.RELEASE, run(job("j-crash", request(2)), 1, () -> false));
        assertTrue(((JobEvent.Requeued) world.last()).reason().contains("the producer is closed"));
        assertEquals(JobRunner.Settlement.REJECT, run(job("j-crash", request(2)), MAX_ATTEMPTS, () -> false));
        assertEquals("internal_error", ((JobEvent.Failed) world.last()).code());
    }

    @Test
    void aDeliveryPastTheAttemptsFailsAsExhaustedWithoutRunning() throws Exception {
        assertEquals(JobRunner.Settlement.REJECT, run(job("j-tired", request(2)), MAX_ATTEMPTS + 1, () -> false));
        assertEquals(List.of("failed"), world.lifecycle());
        assertEquals("attempts_exhausted", ((JobEvent.Failed) world.last()).code());
        assertTrue(world.deadLetters.get(0).startsWith("attempts_exhausted"), world.deadLetters.toString());
    }

    @Test
    void aRepeatedDeliveryOfAFinishedJobRepublishesItsResultInsteadOfRunningAgain() throws Exception {
        ConsumerRecord<String, byte[]> record = finishedEarlier("j-again");
        assertEquals(JobRunner.Settlement.ACCEPT, run(record, 2, () -> false));
        assertEquals(List.of("completed"), world.lifecycle());
        assertEquals(List.of(), world.stored);
    }

    @Test
    void aFirstDeliveryThatMayHaveWaitedPastItsLockIsCheckedAgainstTheStore() throws Exception {
        // Kafka renews a record another attempt has settled (below the share partition's start offset) without an
        // error, so such a record's first delivery can come out of a buffer after the job finished elsewhere.
        ConsumerRecord<String, byte[]> record = finishedEarlier("j-waited");
        JobRunner.Begun begun = runner.begin(record, 1, true);
        assertEquals(JobRunner.Settlement.ACCEPT, begun.settlement());
        assertEquals(List.of("completed"), world.lifecycle(), "the stored outcome repeated, not the work");
        assertEquals(List.of(), world.stored);
    }

    @Test
    void aFreshFirstDeliveryDoesNotAskTheStore() throws Exception {
        ConsumerRecord<String, byte[]> record = finishedEarlier("j-fresh");
        JobRunner.Begun begun = runner.begin(record, 1, false);
        assertNull(begun.settlement(), "it needs a device: its lock, just renewed, vouches for it");
        begun.job().span().end();
    }

    /** A job whose completed outcome an earlier attempt stored. */
    private ConsumerRecord<String, byte[]> finishedEarlier(String id) {
        ConsumerRecord<String, byte[]> record = job(id, request(2));
        world.earlier = FinishedJob.of(Json.read(record.value(), JobMessage.class), null,
                new JobEvent.Completed(id, 5L, List.of(), null));
        return record;
    }

    /** The three phases as a queue slot runs them, on the calling thread. */
    private JobRunner.Settlement run(ConsumerRecord<String, byte[]> record, int attempt, BooleanSupplier shutdown)
            throws InterruptedException {
        JobRunner.Begun begun = runner.begin(record, attempt, false);
        if (begun.settlement() != null) {
            return begun.settlement();
        }
        JobRunner.Generated generated = runner.generate(begun.job(), device, null, shutdown, () -> { });
        return generated.settlement() != null ? generated.settlement() : runner.store(generated);
    }

    private static JobRequest request(int steps) {
        return JobRequest.builder("a red circle on a blue background").size(64, 64).steps(steps).scheduler("euler")
                .seed(5L).build();
    }

    private static ConsumerRecord<String, byte[]> job(String id, JobRequest request) {
        return job(id, request, "toy");
    }

    private static ConsumerRecord<String, byte[]> job(String id, JobRequest request, String model) {
        JobMessage message = JobMessage.of(id, "acme", System.currentTimeMillis(), request.withDefaults()
                .withModel(model));
        return new ConsumerRecord<>("easel.jobs." + model, 0, 0, id, Json.bytes(message));
    }

    private static byte[] png() throws IOException {
        java.awt.image.BufferedImage image = new java.awt.image.BufferedImage(64, 64,
                java.awt.image.BufferedImage.TYPE_INT_RGB);
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        javax.imageio.ImageIO.write(image, "png", out);
        return out.toByteArray();
    }

    private static void copy(Path from, Path to) throws IOException {
        try (Stream<Path> paths = Files.walk(from)) {
            for (Path path : paths.toList()) {
                Path target = to.resolve(from.relativize(path).toString());
                if (Files.isDirectory(path)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(path, target);
                }
            }
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }
}
