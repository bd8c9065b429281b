package dev.easel.gateway.storage;

import io.minio.GetPresignedObjectUrlArgs;
import io.minio.MinioClient;
import io.minio.http.Method;
import io.quarkus.runtime.Startup;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

/**
 * Presigned GET URLs for stored images, signed for the endpoint clients reach. Built at start: built on the first job
 * view, it loaded the S3 client's classes on an event loop, which a burst of submits on two cores stretched to seconds
 * (Vert.x's blocked-thread warnings at 3.7 s in {@code bench scale} with 64 devices).
 */
@Startup
@ApplicationScoped
public class ImageLinks {
    @Inject
    S3Settings s3;

    private MinioClient client;

    @PostConstruct
    void init() {
        client = s3.client(s3.publicEndpoint());
    }

    public String url(String bucket, String objectKey) {
        try {
            return client.getPresignedObjectUrl(GetPresignedObjectUrlArgs.builder().method(Method.GET).bucket(bucket)
                    .object(objectKey).expiry(s3.urlExpirySeconds()).build());
        } catch (Exception e) {
            throw new IllegalStateException("cannot sign a URL for " + bucket + "/" + objectKey + ": " + e.getMessage(), e);
        }
    }
}
