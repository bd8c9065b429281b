package dev.easel.worker;

import dev.easel.contracts.ApiKey;
import dev.easel.contracts.FinishedJob;
import dev.easel.contracts.JobEvent;
import dev.easel.contracts.JobMessage;
import dev.easel.contracts.Json;
import dev.easel.contracts.Topics;
import dev.easel.engine.model.ModelException;
import dev.easel.engine.pipeline.CancelledException;
import dev.easel.engine.pipeline.JobPlan;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.GenerationResult;
import dev.easel.engine.pipeline.InvalidRequestException;
import dev.easel.engine.pipeline.Pipeline;
import dev.easel.engine.pipeline.StepProgress;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Scope;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Runs one job in three phases and says how its queue record is to be settled: {@link #begin} (read it, check its
 * attempts, an earlier attempt's result and cancellation), {@link #generate} (on a device) and {@link #store} (images,
 * the final record, then the terminal event). Every effect is keyed by the job id, so an attempt that repeats an
 * earlier one overwrites the same objects, and the gateway shows clients one terminal event.
 */
final class JobRunner {
    private static final System.Logger LOG = System.getLogger(JobRunner.class.getName());

    /** How a job's record leaves the queue: done (ACCEPT), back for another attempt (RELEASE), or failed (REJECT). */
    enum Settlement { ACCEPT, RELEASE, REJECT }

    /** A job that needs a device: its message, model, request and attempt (1 for the first delivery). */
    record Accepted(ConsumerRecord<String, byte[]> record, JobMessage job, String modelId, GenerationRequest request,
            int attempt, Span span) {
        String jobId() {
            return job.jobId();
        }
    }

    /** What {@link #begin} decided: run {@code job}, or settle the record now. */
    record Begun(Accepted job, Settlement settlement) {
    }

    /** What {@link #generate} produced: images to store, or a settlement when the job ended on the device. */
    record Generated(Accepted job, JobEvent.Started started, GenerationResult result, Settlement settlement) {
    }

    private final WorkerConfig config;
    private final JobEvents events;
    private final JobResults images;
    private final Predicate<String> cancelled;
    private final Tracing tracing;

    /** {@code cancelled} tells whether a client cancelled a job (by id). */
    JobRunner(WorkerConfig config, JobEvents events, JobResults images, Predicate<String> cancelled,
            Tracing tracing) {
        this.config = config;
        this.events = events;
        this.images = images;
        this.cancelled = cancelled;
        this.tracing = tracing;
    }

    /**
     * Begins a delivered job: dead-letters an unreadable one, repeats the outcome an earlier attempt stored, fails one
     * past its attempts, settles a cancelled one; else it needs a device. {@code mayBeSettled}: the record may have
     * waited in the consumer's buffer past its lock, so another attempt may have finished the job even on its first
     * delivery, and the store is asked as for a later one.
     */
    Begun begin(ConsumerRecord<String, byte[]> record, int attempt, boolean mayBeSettled) throws InterruptedException {
        JobMessage job;
        try {
            job = Json.read(record.value(), JobMessage.class);
            if (job.jobId() == null || job.request() == null || !ApiKey.isValidTenant(job.tenant())) {
                throw new IllegalArgumentException("a job needs jobId, a valid tenant and request");
            }
        } catch (IllegalArgumentException e) {
            // Unreadable now means unreadable on every attempt: dead-letter it at once.
            events.deadLetter(record, "invalid_message: " + e.getMessage(), attempt);
            if (record.key() != null) {
                events.publishDurably(new JobEvent.Failed(record.key(), now(), "invalid_message",
                        "the job message cannot be read: " + e.getMessage(), false, attempt));
            }
            return new Begun(null, Settlement.REJECT);
        }
        String jobId = job.jobId();
        if (attempt > 1) {
            LOG.log(System.Logger.Level.INFO, "job " + jobId + " delivered again: attempt " + attempt);
        }
        if (attempt > 1 || mayBeSettled) {
            Optional<FinishedJob> earlier = images.finished(job);
            if (earlier.isPresent()) {
                // An earlier attempt finished and stored its record but was not acknowledged: repeat its terminal
                // event (the gateway keeps the first) rather than the work.
                events.publishDurably(earlier.get().terminal());
                return new Begun(null, Settlement.ACCEPT);
            }
        }
        if (attempt > config.maxAttempts()) {
            String reason = "the job was tried " + config.maxAttempts() + " times and no attempt finished (each one's"
                    + " worker stopped, was killed or lost the job); it is not tried again";
            events.deadLetter(record, "attempts_exhausted: " + reason, config.maxAttempts());
            finish(job, null, new JobEvent.Failed(jobId, now(), "attempts_exhausted", reason, true,
                    config.maxAttempts()));
            return new Begun(null, Settlement.REJECT);
        }
        if (attempt > 1) {
            events.publish(new JobEvent.Requeued(jobId, now(), attempt, "attempt " + (attempt - 1)
                    + " ended without a result: its worker stopped or lost the job"));
        }
        if (cancelled.test(jobId)) {
            finish(job, null, new JobEvent.Cancelled(jobId, now(), "cancelled before it started"));
            return new Begun(null, Settlement.ACCEPT);
        }
        String modelId = record.topic().substring(Topics.JOBS_PREFIX.length());
        try {
            GenerationRequest request = GenerationRequest.from(job.request());
            return new Begun(new Accepted(record, job, modelId, request, attempt,
                    tracing.startJob(record.headers(), jobId, attempt)), null);
        } catch (InvalidRequestException e) {
            finish(job, null, new JobEvent.Failed(jobId, now(), "invalid_request", e.getMessage(), false, attempt));
            return new Begun(null, Settlement.ACCEPT);
        }
    }

    /**
     * Generates the job's images on {@code device}, idle for {@code deviceIdleMillis} before it. {@code releaseRequested}
     * turns true when the worker shuts down and its grace period ran out: the job then stops at its next step and goes
     * back to the queue. {@code nearlyDone} runs once the job expects to end within EASEL_RESERVE_AHEAD_MS.
     */
    Generated generate(Accepted job, Device device, Long deviceIdleMillis, BooleanSupplier releaseRequested,
            Runnable nearlyDone) throws InterruptedException {
        String jobId = job.jobId();
        Pipeline pipeline;
        try {
            pipeline = modelFor(job, device);
        } catch (ModelException e) {
            // This device could not load the model (a damaged file, no memory): another worker may, so the job goes
            // back to the queue until its attempts run out.
            LOG.log(System.Logger.Level.ERROR, "job " + jobId + ": " + e.getMessage());
            String reason = "model " + job.modelId() + " could not be loaded on worker " + config.workerId() + ": "
                    + e.getMessage();
            return new Generated(job, null, null, job.attempt() < config.maxAttempts() ? requeue(job, reason)
                    : fail(job, null, "model_unavailable", reason + " (on each of " + job.attempt() + " attempts)",
                            true));
        }
        long startedAt = now();
        Scope traced = job.span().makeCurrent();
        JobEvent.Started started = null;
        try {
            JobPlan plan = pipeline.plan(job.request());
            started = new JobEvent.Started(jobId, startedAt, config.workerId(), pipeline.provider(),
                    plan.stepsPerImage(), job.attempt(), deviceIdleMillis);
            events.publish(started);
            StepReporter reporter = new StepReporter(jobId, job.request().numImages() * started.totalSteps(),
                    device.reserveAheadMillis(config.reserveAheadMillis()), nearlyDone);
            GenerationResult result = pipeline.generate(plan, reporter::report,
                    () -> cancelled.test(jobId) || releaseRequested.getAsBoolean());
            tracing.phases(job.span(), startedAt, result.timings());
            return new Generated(job, started, result, null);
        } catch (CancelledException e) {
            if (!cancelled.test(jobId)) {
                return new Generated(job, started, null, requeue(job, "worker " + config.workerId()
                        + " shut down before the job finished"));
            }
            finish(job.job(), started, new JobEvent.Cancelled(jobId, now(), "cancelled after " + e.completedSteps()
                    + " steps"));
            return new Generated(job, started, null, Settlement.ACCEPT);
        } catch (InvalidRequestException e) {
            finish(job.job(), started, new JobEvent.Failed(jobId, now(), "invalid_request", e.getMessage(), false,
                    job.attempt()));
            return new Generated(job, started, null, Settlement.ACCEPT);
        } catch (ModelException e) {
            LOG.log(System.Logger.Level.ERROR, "job " + jobId + " failed on the model: " + e.getMessage());
            return new Generated(job, started, null, fail(job, started, "model_error", e.getMessage(), false));
        } catch (RuntimeException | ai.onnxruntime.OrtException e) {
            // Unexpected: perhaps this machine's trouble (memory, a driver), so another attempt may succeed.
            LOG.log(System.Logger.Level.ERROR, "job " + jobId + " failed on attempt " + job.attempt(), e);
            String reason = e.getClass().getSimpleName() + ": " + e.getMessage();
            return new Generated(job, started, null, job.attempt() < config.maxAttempts()
                    ? requeue(job, "attempt " + job.attempt() + " failed: " + reason)
                    : fail(job, started, "internal_error", reason + " (on each of " + job.attempt() + " attempts)",
                            true));
        } finally {
            traced.close();
        }
    }

    /**
     * The job's model on {@code device}: held already, or loaded now (room made by unloading the least recently used),
     * which clients see as a {@code loading} event with the expected time.
     */
    private Pipeline modelFor(Accepted job, Device device) {
        if (!device.holds(job.modelId())) {
            events.publish(new JobEvent.Loading(job.jobId(), now(), config.workerId(), job.modelId(),
                    device.expectedLoadMillis(job.modelId()), job.attempt()));
        }
        return device.pipeline(job.modelId());
    }

    /** Stores the images and the final record, then publishes {@code completed} durably. */
    Settlement store(Generated generated) throws InterruptedException {
        Accepted job = generated.job();
        String jobId = job.jobId();
        GenerationResult result = generated.result();
        long uploadStart = now();
        List<JobEvent.Image> stored = new ArrayList<>();
        JobEvent.Completed completed;
        Span upload = tracing.startUpload(job.span());
        try (Scope traced = job.span().makeCurrent()) {
            for (GenerationResult.GeneratedImage image : result.images()) {
                String key = images.put(job.job(), image.index(), image.png(), image.infotext(), image.seed());
                stored.add(new JobEvent.Image(image.index(), images.bucket(), key, null, image.width(), image.height(),
                        image.seed()));
            }
            long finished = now();
            long submitted = job.job().submittedAtMillis();
            completed = new JobEvent.Completed(jobId, finished, stored, new JobEvent.Timings(
                    Math.max(0, generated.started().atMillis() - submitted), Math.round(result.timings().totalMillis()),
                    finished - uploadStart, Math.max(0, finished - submitted)));
            images.putFinished(FinishedJob.of(job.job(), generated.started(), completed));
            upload.end();
        } catch (StorageUnavailableException e) {
            upload.recordException(e);
            upload.end();
            LOG.log(System.Logger.Level.WARNING, "job " + jobId + ": " + e.getMessage());
            if (e.refused()) {
                return fail(job, generated.started(), "storage_refused", "the object store refused the job's results,"
                        + " so no attempt can store them: " + e.getMessage(), false);
            }
            return job.attempt() < config.maxAttempts()
                    ? requeue(job, "attempt " + job.attempt() + " could not store its images: " + e.getMessage())
                    : fail(job, generated.started(), "storage_unavailable", "the images could not be stored on any of "
                            + job.attempt() + " attempts; the last one: " + e.getMessage(), true);
        }
        try (Scope traced = job.span().makeCurrent()) {
            events.publishDurably(completed);
        }
        return Settlement.ACCEPT;
    }

    /** Puts the job back on the queue and tells clients why; the next attempt counts one more delivery. */
    private Settlement requeue(Accepted job, String reason) {
        events.publish(new JobEvent.Requeued(job.jobId(), now(), job.attempt() + 1, reason));
        return Settlement.RELEASE;
    }

    /** Fails the job for good: dead letter with the reason, then the {@code failed} event. */
    private Settlement fail(Accepted job, JobEvent.Started started, String code, String message, boolean retryable)
            throws InterruptedException {
        events.deadLetter(job.record(), code + ": " + message, job.attempt());
        finish(job.job(), started, new JobEvent.Failed(job.jobId(), now(), code, message, retryable, job.attempt()));
        return Settlement.REJECT;
    }

    /**
     * Ends a job without images: its final record goes to the bucket when S3 answers (a later delivery then repeats
     * the outcome instead of the work; the events topic has it either way), then the terminal event.
     */
    private void finish(JobMessage job, JobEvent.Started started, JobEvent terminal) throws InterruptedException {
        try {
            images.putFinished(FinishedJob.of(job, started, terminal));
        } catch (StorageUnavailableException e) {
            LOG.log(System.Logger.Level.WARNING, "job " + job.jobId() + ": its final record is not stored: "
                    + e.getMessage());
        }
        events.publishDurably(terminal);
    }

    /** Reports steps (all of them unless capped), throttles previews apart, and paces steps when asked to. */
    private final class StepReporter {
        private final String jobId;
        private final int totalSteps;
        private final ProgressThrottle progress = new ProgressThrottle(config.progressMaxPerSecond());
        private final ProgressThrottle previews = new ProgressThrottle(config.previewMaxPerSecond());
        private final long reserveAheadMillis;
        private final Runnable nearlyDone;
        private long lastStepNanos = System.nanoTime();

        StepReporter(String jobId, int totalSteps, long reserveAheadMillis, Runnable nearlyDone) {
            this.jobId = jobId;
            this.totalSteps = totalSteps;
            this.reserveAheadMillis = reserveAheadMillis;
            this.nearlyDone = nearlyDone;
        }

        void report(StepProgress step) {
            // The engine timed the step before this pause: without it, the first paced step looked 2 ms long and the
            // device was offered for its next job 19 steps early, which then waited there while other devices idled.
            long elapsedMillis = step.elapsedMillis() + pace() / 1_000_000;
            long nowNanos = System.nanoTime();
            int done = step.imageIndex() * step.total() + step.step();
            long eta = done == 0 ? 0 : Math.round((double) elapsedMillis / done * (totalSteps - done));
            // The hires fix's second pass denoises larger latents, each step slower than the first pass's: during
            // the first pass the estimate would offer the device a whole pass early.
            boolean lastPass = step.pass() != 1;
            if (lastPass && done > 0 && eta <= reserveAheadMillis) {
                nearlyDone.run();
            }
            if (!progress.allow(step.step(), step.total(), nowNanos)) {
                return;
            }
            String preview = step.previewPng() != null && previews.allow(step.step(), step.total(), nowNanos)
                    ? Base64.getEncoder().encodeToString(step.previewPng()) : null;
            events.publish(new JobEvent.Progress(JobEvent.SCHEMA_VERSION, jobId, now(), step.imageIndex(), step.step(),
                    step.total(), step.timestep(), step.hasSigma() ? step.sigma() : null, elapsedMillis, eta,
                    preview, step.pass() == 0 ? null : step.pass()));
        }

        /**
         * EASEL_MIN_STEP_MS: a step takes at least that long, standing in for a GPU-bound step in benchmarks; returns
         * the nanoseconds it paused.
         */
        private long pace() {
            long minNanos = config.minStepMillis() * 1_000_000;
            long startNanos = System.nanoTime();
            long waitNanos = lastStepNanos + minNanos - startNanos;
            if (minNanos > 0 && waitNanos > 0) {
                java.util.concurrent.locks.LockSupport.parkNanos(waitNanos);
            }
            lastStepNanos = System.nanoTime();
            return lastStepNanos - startNanos;
        }
    }

    private static long now() {
        return System.currentTimeMillis();
    }
}
