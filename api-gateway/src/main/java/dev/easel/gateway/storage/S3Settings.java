package dev.easel.gateway.storage;

import io.minio.MinioClient;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;

/** The bucket's settings ({@code easel.s3.*}): one place for the gateway's S3 clients. */
@ConfigMapping(prefix = "easel.s3")
public interface S3Settings {
    /** Where the gateway reaches S3 itself. */
    String endpoint();

    /** What clients reach, for presigned URLs. */
    @WithName("public-endpoint")
    String publicEndpoint();

    @WithName("access-key")
    String accessKey();

    @WithName("secret-key")
    String secretKey();

    @WithDefault("easel-images")
    String bucket();

    @WithName("url-expiry-seconds")
    @WithDefault("3600")
    int urlExpirySeconds();

    /** A client for {@code endpoint}; with the region given, signing needs no request to the server. */
    default MinioClient client(String endpoint) {
        return MinioClient.builder().endpoint(endpoint).credentials(accessKey(), secretKey()).region("us-east-1")
                .build();
    }
}
