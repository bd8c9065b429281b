package dev.easel.gateway;

import io.minio.GetPresignedObjectUrlArgs;
import io.minio.MinioClient;
import io.minio.http.Method;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/** Presigned GET URLs for stored images, signed for the endpoint clients reach. */
@ApplicationScoped
public class ImageLinks {
    @ConfigProperty(name = "easel.s3.public-endpoint")
    String endpoint;

    @ConfigProperty(name = "easel.s3.access-key")
    String accessKey;

    @ConfigProperty(name = "easel.s3.secret-key")
    String secretKey;

    @ConfigProperty(name = "easel.s3.url-expiry-seconds", defaultValue = "3600")
    int expirySeconds;

    private MinioClient client;

    @PostConstruct
    void init() {
        // Signing needs no request to the server when the region is given.
        client = MinioClient.builder().endpoint(endpoint).credentials(accessKey, secretKey).region("us-east-1").build();
    }

    public String url(String bucket, String objectKey) {
        try {
            return client.getPresignedObjectUrl(GetPresignedObjectUrlArgs.builder().method(Method.GET).bucket(bucket)
                    .object(objectKey).expiry(expirySeconds).build());
        } catch (Exception e) {
            throw new IllegalStateException("cannot sign a URL for " + bucket + "/" + objectKey + ": " + e.getMessage(), e);
        }
    }
}
