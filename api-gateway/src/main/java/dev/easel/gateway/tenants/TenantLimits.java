package dev.easel.gateway.tenants;

import dev.easel.gateway.jobs.InvalidJobException;
import dev.easel.gateway.jobs.JobStore;

import dev.easel.contracts.ApiKey;
import dev.easel.contracts.FieldError;
import dev.easel.contracts.JobRequest;
import dev.easel.contracts.RequestLimits;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * The limits that protect the pool from one tenant: per key, a submit rate (a token bucket holding a minute's worth)
 * and a cap on queued plus running jobs; per job, a cost cap (width x height x steps x images). A key's own figures
 * override the defaults here. Each replica keeps its own buckets, so behind N replicas a key may submit up to N times
 * its rate; the active-job count comes from the events every replica reads.
 */
@ApplicationScoped
public class TenantLimits {
    @ConfigProperty(name = "easel.limits.rate-per-minute", defaultValue = "120")
    int defaultRatePerMinute;

    @ConfigProperty(name = "easel.limits.max-active", defaultValue = "16")
    int defaultMaxActive;

    @ConfigProperty(name = "easel.limits.max-pixel-steps", defaultValue = "268435456")
    long maxPixelSteps;

    /** At most the engine's own bounds (16 MiB, 2048 x 2048), which every request obeys anyway. */
    /** Pixels of one output picture: an upscaler's or a hires fix's enlargement beyond what a device should make. */
    @ConfigProperty(name = "easel.limits.max-output-pixels", defaultValue = "4194304")
    long maxOutputPixels;

    @ConfigProperty(name = "easel.limits.init-image-max-bytes", defaultValue = "16777216")
    long initImageMaxBytes;

    @ConfigProperty(name = "easel.limits.init-image-max-pixels", defaultValue = "4194304")
    long initImageMaxPixels;

    /** LoRAs per job and 75-token chunks per prompt: at most the contract's (8 each), which every request obeys. */
    @ConfigProperty(name = "easel.limits.max-loras", defaultValue = "8")
    int maxLoras;

    @ConfigProperty(name = "easel.limits.max-prompt-chunks", defaultValue = "8")
    int maxPromptChunks;

    @Inject
    JobStore store;

    private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();

    /** A token bucket: {@code capacity} tokens, refilled at {@code capacity} per minute. */
    private static final class Bucket {
        private final int capacity;
        private double tokens;
        private long refilledNanos = System.nanoTime();

        Bucket(int capacity) {
            this.capacity = capacity;
            this.tokens = capacity;
        }

        /** Takes a token; otherwise the seconds until one is there. */
        synchronized long take() {
            long now = System.nanoTime();
            tokens = Math.min(capacity, tokens + (now - refilledNanos) * capacity / 60e9);
            refilledNanos = now;
            if (tokens >= 1) {
                tokens -= 1;
                return 0;
            }
            return Math.max(1, (long) Math.ceil((1 - tokens) * 60.0 / capacity));
        }
    }

    int ratePerMinute(ApiKey key) {
        return key.ratePerMinute() != null ? key.ratePerMinute() : defaultRatePerMinute;
    }

    int maxActive(ApiKey key) {
        return key.maxActive() != null ? key.maxActive() : defaultMaxActive;
    }

    /** This gateway's bounds on an init image or a mask (at most the engine's). */
    public RequestLimits.ImageBounds imageBounds() {
        return new RequestLimits.ImageBounds(initImageMaxBytes, initImageMaxPixels);
    }

    /** The image bounds as a problem body names them, for errors on initImage or mask. */
    public Map<String, Object> imageLimits() {
        return Map.of("initImageMaxBytes", initImageMaxBytes, "initImageMaxPixels", initImageMaxPixels);
    }

    /**
     * 400 when the job asks for more LoRAs (field and tags) than this gateway allows, or a prompt's BREAKs alone make
     * more chunks (the worker counts the tokens too).
     */
    public void checkAdapters(JobRequest request) {
        int loras = dev.easel.contracts.PromptTags.parse(request.prompt()).loras().size()
                + (request.loras() == null ? 0 : request.loras().size());
        if (loras > maxLoras) {
            throw new InvalidJobException(List.of(new FieldError("loras", "asks for " + loras + " LoRAs; at most "
                    + maxLoras + " per job (easel.limits.max-loras)")), Map.of("maxLoras", maxLoras));
        }
        for (String[] text : new String[][] {{"prompt", request.prompt()}, {"negativePrompt", request.negativePrompt()}}) {
            int chunks = text[1] == null ? 1 : dev.easel.contracts.PromptTags.minimumChunks(text[1]);
            if (chunks > maxPromptChunks) {
                throw new InvalidJobException(List.of(new FieldError(text[0], "takes at least " + chunks + " chunks of"
                        + " 75 tokens (its BREAKs); at most " + maxPromptChunks + " (easel.limits.max-prompt-chunks)")),
                        Map.of("maxPromptChunks", maxPromptChunks));
            }
        }
    }

    /**
     * 400 when the job costs more than one job may: width x height x steps x images, a hires fix's second pass
     * counted at its enlarged size, an upscaler's job at its output size ({@code upscaledOutput}, null for a generator;
     * {@code steps} 1 for an image upscaler, which takes none).
     */
    public void checkCost(JobRequest request, RequestLimits.ImageSize upscaledOutput, int steps) {
        int width = JobRequest.sideOrDefault(request.width());
        int height = JobRequest.sideOrDefault(request.height());
        long cost = upscaledOutput != null ? upscaledOutput.pixels() * steps * request.numImages()
                : (long) width * height * request.steps() * request.numImages();
        if (request.hires() != null) {
            JobRequest.Hires hires = request.hires();
            cost += (long) hires.scaled(width) * hires.scaled(height) * hires.stepsOr(request.steps())
                    * request.numImages();
        }
        if (cost > maxPixelSteps) {
            throw new InvalidJobException(List.of(new FieldError("cost", "width x height x steps x numImages (both"
                    + " passes of a hires fix) is " + cost + "; at most " + maxPixelSteps + " per job (easel.limits.max-pixel-steps): lower the size,"
                    + " the steps or the number of images, or split the job")), Map.of("maxPixelSteps", maxPixelSteps));
        }
    }

    /** 400 when one output picture ({@code width x height}) would have more pixels than a job may make. */
    public void checkOutputPixels(String field, long width, long height) {
        if (width * height > maxOutputPixels) {
            throw new InvalidJobException(List.of(new FieldError(field, "makes a " + width + "x" + height + " picture ("
                    + width * height + " pixels); at most " + maxOutputPixels + " pixels per picture"
                    + " (easel.limits.max-output-pixels): send a smaller picture or a smaller scale")),
                    Map.of("maxOutputPixels", maxOutputPixels));
        }
    }

    /** 429 when the key has no submit left this minute or already has its maximum of jobs queued or running. */
    public void admit(ApiKey key) {
        int maxActive = maxActive(key);
        int rate = ratePerMinute(key);
        Map<String, Object> limits = Map.of("ratePerMinute", rate, "maxActive", maxActive);
        long active = store.activeJobs(key.tenant());
        if (active >= maxActive) {
            throw new LimitExceededException("tenant '" + key.tenant() + "' has " + active + " jobs queued or running,"
                    + " its maximum; submit more once some finish", 5, limits);
        }
        Bucket bucket = buckets.compute(key.id(), (id, old) -> old != null && old.capacity == rate ? old
                : new Bucket(rate));
        long waitSeconds = bucket.take();
        if (waitSeconds > 0) {
            throw new LimitExceededException("this key may submit " + rate + " jobs per minute; the next one in "
                    + waitSeconds + " s", waitSeconds, limits);
        }
    }
}
