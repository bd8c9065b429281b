package dev.easel.worker;

import dev.easel.contracts.FinishedJob;
import dev.easel.contracts.JobMessage;
import dev.easel.contracts.Json;
import io.minio.BucketExistsArgs;
import io.minio.GetObjectArgs;
import io.minio.GetObjectResponse;
import io.minio.MakeBucketArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.errors.ErrorResponseException;
import java.io.ByteArrayInputStream;
import java.util.Map;
import java.util.Optional;

/**
 * The bucket (MinIO or any S3 server): images under {@code {tenant}/{jobId}/{n}.png} with the generation parameters
 * as metadata, and each finished job's record as {@code {tenant}/{jobId}/job.json}. Keys depend only on the job, so a
 * retried job overwrites its own objects and never adds a second set.
 */
final class ImageStore implements JobResults {
    private interface Call<T> {
        T run() throws Exception;
    }

    private final MinioClient client;
    private final String bucket;
    private final long retryMillis;

    ImageStore(WorkerConfig config) {
        this.client = MinioClient.builder().endpoint(config.s3Endpoint())
                .credentials(config.s3AccessKey(), config.s3SecretKey()).region("us-east-1").build();
        this.bucket = config.bucket();
        this.retryMillis = config.storageRetryMillis();
    }

    @Override
    public String bucket() {
        return bucket;
    }

    /** Creates the bucket when it does not exist. */
    void ensureBucket() throws Exception {
        if (!client.bucketExists(BucketExistsArgs.builder().bucket(bucket).build())) {
            client.makeBucket(MakeBucketArgs.builder().bucket(bucket).build());
        }
    }

    static String objectKey(JobMessage job, int index) {
        return JobMessage.objectPrefix(job.tenant(), job.jobId()) + index + ".png";
    }

    /**
     * Uploads one PNG, retrying for up to the configured bound. Metadata is small and bounded whatever the prompt
     * (AWS S3 allows 2 KB of user metadata per object): {@code seed} and {@code job-id}; the infotext is in the PNG.
     */
    @Override
    public String put(JobMessage job, int index, byte[] png, String infotext, long seed)
            throws StorageUnavailableException, InterruptedException {
        String key = objectKey(job, index);
        retrying("upload " + key, () -> client.putObject(PutObjectArgs.builder().bucket(bucket).object(key)
                .stream(new ByteArrayInputStream(png), png.length, -1)
                .contentType("image/png")
                .userMetadata(Map.of("seed", Long.toString(seed), "job-id", job.jobId()))
                .build()));
        return key;
    }

    /** Stores the job's final record beside its images, retrying like {@link #put}. */
    @Override
    public void putFinished(FinishedJob finished) throws StorageUnavailableException, InterruptedException {
        byte[] json = Json.bytes(finished);
        String key = FinishedJob.objectKey(finished.job().tenant(), finished.job().jobId());
        retrying("upload " + key, () -> client.putObject(PutObjectArgs.builder().bucket(bucket).object(key)
                .stream(new ByteArrayInputStream(json), json.length, -1).contentType("application/json").build()));
    }

    /** The job's final record if an earlier attempt finished it; empty when there is none or S3 cannot say. */
    @Override
    public Optional<FinishedJob> finished(JobMessage job) {
        try (GetObjectResponse response = client.getObject(GetObjectArgs.builder().bucket(bucket)
                .object(FinishedJob.objectKey(job.tenant(), job.jobId())).build())) {
            return Optional.of(Json.read(response.readAllBytes(), FinishedJob.class));
        } catch (ErrorResponseException e) {
            return Optional.empty(); // NoSuchKey: no attempt finished it
        } catch (Exception e) {
            // Unreachable or unreadable: run the job again; its keys are the same, so nothing is stored twice.
            return Optional.empty();
        }
    }

    /** Whether the store answered with a client error (4xx) other than a timeout or throttling, which pass. */
    static boolean isRefusal(Exception e) {
        if (e instanceof ErrorResponseException error && error.response() != null) {
            int status = error.response().code();
            return status >= 400 && status < 500 && status != 408 && status != 429;
        }
        return false;
    }

    /** Runs {@code call} until it succeeds, with backoff from 100 ms doubling to 5 s, for at most the bound. */
    private <T> T retrying(String what, Call<T> call) throws StorageUnavailableException, InterruptedException {
        long deadline = System.nanoTime() + retryMillis * 1_000_000;
        long backoffMillis = 100;
        while (true) {
            try {
                return call.run();
            } catch (InterruptedException e) {
                throw e;
            } catch (Exception e) {
                if (isRefusal(e)) {
                    // The store answered and said no (a 4xx): another try, or another attempt, gets the same answer.
                    throw new StorageUnavailableException("the object store refused to " + what + ": "
                            + e.getMessage(), e, true);
                }
                long leftMillis = (deadline - System.nanoTime()) / 1_000_000;
                if (leftMillis <= 0) {
                    throw new StorageUnavailableException("could not " + what + " for " + retryMillis / 1000
                            + " s: " + e.getMessage(), e);
                }
                Thread.sleep(Math.min(backoffMillis, leftMillis));
                backoffMillis = Math.min(backoffMillis * 2, 5000);
            }
        }
    }
}
