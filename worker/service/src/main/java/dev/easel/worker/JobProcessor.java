package dev.easel.worker;

import dev.easel.contracts.JobEvent;
import dev.easel.contracts.JobMessage;
import dev.easel.contracts.Json;
import dev.easel.engine.model.ModelException;
import dev.easel.engine.pipeline.CancelledException;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.GenerationResult;
import dev.easel.engine.pipeline.InvalidRequestException;
import dev.easel.engine.pipeline.StableDiffusionPipeline;
import dev.easel.engine.pipeline.StepProgress;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Runs one job on one device's pipeline and reports it: started, throttled progress, then exactly one terminal event
 * (completed after the images are stored, failed, or cancelled), published durably before the caller commits.
 */
final class JobProcessor {
    private static final System.Logger LOG = System.getLogger(JobProcessor.class.getName());

    private final WorkerConfig config;
    private final EventPublisher events;
    private final ImageStore images;
    private final Cancellations cancellations;

    JobProcessor(WorkerConfig config, EventPublisher events, ImageStore images, Cancellations cancellations) {
        this.config = config;
        this.events = events;
        this.images = images;
        this.cancellations = cancellations;
    }

    void process(ConsumerRecord<String, byte[]> record, StableDiffusionPipeline pipeline) throws InterruptedException {
        JobMessage job;
        try {
            job = Json.read(record.value(), JobMessage.class);
            if (job.jobId() == null || job.request() == null) {
                throw new IllegalArgumentException("a job needs jobId and request");
            }
        } catch (IllegalArgumentException e) {
            events.deadLetter(record, "unreadable job: " + e.getMessage());
            if (record.key() != null) {
                events.publishDurably(new JobEvent.Failed(record.key(), now(), "invalid_message",
                        "the job message cannot be read: " + e.getMessage(), false));
            }
            return;
        }
        String jobId = job.jobId();
        if (cancellations.isCancelled(jobId)) {
            events.publishDurably(new JobEvent.Cancelled(jobId, now(), "cancelled before it started"));
            return;
        }
        long startedAt = now();
        try {
            String model = job.request().model();
            if (model != null && !model.equals(pipeline.model().name())) {
                throw new InvalidRequestException("model", "'" + model + "' is not served here; this worker serves '"
                        + pipeline.model().name() + "'");
            }
            GenerationRequest request = GenerationRequest.from(job.request());
            int steps = pipeline.stepsPerImage(request);
            events.publish(new JobEvent.Started(jobId, startedAt, config.workerId(),
                    pipeline.model().runtime().provider(), steps));
            ProgressThrottle throttle = new ProgressThrottle(config.progressMaxPerSecond());
            int totalSteps = steps * request.numImages();
            GenerationResult result = pipeline.generate(request,
                    step -> progress(jobId, step, totalSteps, throttle), () -> cancellations.isCancelled(jobId));
            long uploadStart = now();
            List<JobEvent.Image> stored = new ArrayList<>();
            for (GenerationResult.GeneratedImage image : result.images()) {
                String key = images.put(jobId, image.index(), image.png(), image.infotext(), image.seed());
                stored.add(new JobEvent.Image(image.index(), images.bucket(), key, null, image.width(), image.height(),
                        image.seed()));
            }
            long finished = now();
            events.publishDurably(new JobEvent.Completed(jobId, finished, stored, new JobEvent.Timings(
                    Math.max(0, startedAt - job.submittedAtMillis()), Math.round(result.timings().totalMillis()),
                    finished - uploadStart, Math.max(0, finished - job.submittedAtMillis()))));
        } catch (CancelledException e) {
            events.publishDurably(new JobEvent.Cancelled(jobId, now(), "cancelled after " + e.completedSteps()
                    + " steps"));
        } catch (InvalidRequestException e) {
            events.publishDurably(new JobEvent.Failed(jobId, now(), "invalid_request", e.getMessage(), false));
        } catch (ModelException e) {
            LOG.log(System.Logger.Level.ERROR, "job " + jobId + " failed on the model: " + e.getMessage());
            events.deadLetter(record, "model_error: " + e.getMessage());
            events.publishDurably(new JobEvent.Failed(jobId, now(), "model_error", e.getMessage(), false));
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            LOG.log(System.Logger.Level.ERROR, "job " + jobId + " failed", e);
            events.deadLetter(record, "internal_error: " + e);
            events.publishDurably(new JobEvent.Failed(jobId, now(), "internal_error",
                    e.getClass().getSimpleName() + ": " + e.getMessage(), true));
        }
    }

    private void progress(String jobId, StepProgress step, int totalSteps, ProgressThrottle throttle) {
        if (!throttle.allow(step.step(), step.total(), System.nanoTime())) {
            return;
        }
        int done = step.imageIndex() * step.total() + step.step();
        long eta = done == 0 ? 0 : Math.round((double) step.elapsedMillis() / done * (totalSteps - done));
        String preview = step.previewPng() == null ? null : Base64.getEncoder().encodeToString(step.previewPng());
        events.publish(new JobEvent.Progress(jobId, now(), step.imageIndex(), step.step(), step.total(),
                step.timestep(), step.hasSigma() ? step.sigma() : null, step.elapsedMillis(), eta, preview));
    }

    private static long now() {
        return System.currentTimeMillis();
    }
}
