package dev.easel.gateway.storage;

import dev.easel.gateway.jobs.JobIds;

import dev.easel.contracts.ApiKey;
import dev.easel.contracts.FinishedJob;
import dev.easel.contracts.Json;
import io.minio.GetObjectArgs;
import io.minio.GetObjectResponse;
import io.minio.ListObjectsArgs;
import io.minio.Result;
import io.minio.messages.Item;
import io.minio.MinioClient;
import io.minio.errors.ErrorResponseException;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.Optional;
import org.jboss.logging.Logger;

/** Finished jobs' final records in the bucket ({@code {tenant}/{jobId}/job.json}): any past job, without Kafka. */
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

    /**
     * The ids of the tenant's jobs that have objects in the bucket, after {@code afterId} (null: from the first), in
     * the bucket's order, which {@link JobIds} makes newest first. Lazy: S3 is listed a page at a time as the ids are
     * read; if S3 cannot be listed the ids end there (and a warning is logged).
     */
    public java.util.Iterator<String> jobIds(String tenant, String afterId) {
        String prefix = tenant + "/";
        ListObjectsArgs.Builder args = ListObjectsArgs.builder().bucket(s3.bucket()).prefix(prefix).delimiter("/")
                .maxKeys(200);
        if (afterId != null) {
            args.startAfter(prefix + afterId + "/~"); // '~' sorts after every object name under a job
        }
        java.util.Iterator<Result<Item>> items = client.listObjects(args.build()).iterator();
        return new java.util.Iterator<>() {
            private String next = advance();

            private String advance() {
                try {
                    if (!items.hasNext()) {
                        return null;
                    }
                    String name = items.next().get().objectName();
                    return name.substring(prefix.length(), name.length() - (name.endsWith("/") ? 1 : 0));
                } catch (Exception e) {
                    LOG.warnf("cannot list %s in the bucket (%s): the jobs list holds only the jobs in memory", prefix,
                            e.toString());
                    return null;
                }
            }

            @Override
            public boolean hasNext() {
                return next != null;
            }

            @Override
            public String next() {
                String current = next;
                next = advance();
                return current;
            }
        };
    }

    /** The job's final record; empty when there is none (or S3 cannot be read now). */
    public Optional<FinishedJob> read(String tenant, String jobId) {
        if (jobId.contains("/") || jobId.contains("..") || !ApiKey.isValidTenant(tenant)) {
            return Optional.empty();
        }
        try (GetObjectResponse response = client.getObject(GetObjectArgs.builder().bucket(s3.bucket())
                .object(FinishedJob.objectKey(tenant, jobId)).build())) {
            return Optional.of(Json.read(response.readAllBytes(), FinishedJob.class));
        } catch (ErrorResponseException e) {
            return Optional.empty();
        } catch (Exception e) {
            LOG.warnf("cannot read the final record of job %s: %s", jobId, e.toString());
            return Optional.empty();
        }
    }
}
