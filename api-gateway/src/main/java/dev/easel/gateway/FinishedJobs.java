package dev.easel.gateway;

import dev.easel.contracts.FinishedJob;
import dev.easel.contracts.Json;
import io.minio.GetObjectArgs;
import io.minio.GetObjectResponse;
import io.minio.MinioClient;
import io.minio.errors.ErrorResponseException;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.Optional;
import org.jboss.logging.Logger;

/** Finished jobs' final records in the bucket ({@code {jobId}/job.json}): any past job, without Kafka. */
@ApplicationScoped
public class FinishedJobs {
    private static final Logger LOG = Logger.getLogger(FinishedJobs.class);

    @Inject
    S3Settings s3;

    private MinioClient client;

    @PostConstruct
    void init() {
        client = s3.client(s3.endpoint());
    }

    /** The job's final record; empty when there is none (or S3 cannot be read now). */
    public Optional<FinishedJob> read(String jobId) {
        if (jobId.contains("/") || jobId.contains("..")) {
            return Optional.empty();
        }
        try (GetObjectResponse response = client.getObject(GetObjectArgs.builder().bucket(s3.bucket())
                .object(FinishedJob.objectKey(jobId)).build())) {
            return Optional.of(Json.read(response.readAllBytes(), FinishedJob.class));
        } catch (ErrorResponseException e) {
            return Optional.empty();
        } catch (Exception e) {
            LOG.warnf("cannot read the final record of job %s: %s", jobId, e.toString());
            return Optional.empty();
        }
    }
}
