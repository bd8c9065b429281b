package dev.easel.worker;

import io.minio.BucketExistsArgs;
import io.minio.MakeBucketArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import java.io.ByteArrayInputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/** Stores images in a MinIO (S3) bucket under {@code {jobId}/{n}.png}, with the generation parameters as metadata. */
final class ImageStore {
    private final MinioClient client;
    private final String bucket;

    ImageStore(WorkerConfig config) {
        this.client = MinioClient.builder().endpoint(config.s3Endpoint())
                .credentials(config.s3AccessKey(), config.s3SecretKey()).region("us-east-1").build();
        this.bucket = config.bucket();
    }

    String bucket() {
        return bucket;
    }

    /** Creates the bucket when it does not exist. */
    void ensureBucket() throws Exception {
        if (!client.bucketExists(BucketExistsArgs.builder().bucket(bucket).build())) {
            client.makeBucket(MakeBucketArgs.builder().bucket(bucket).build());
        }
    }

    static String objectKey(String jobId, int index) {
        return jobId + "/" + index + ".png";
    }

    /**
     * Uploads one PNG. Metadata: {@code parameters} (the infotext, URL-encoded since headers carry no newlines),
     * {@code seed} and {@code job-id}.
     */
    String put(String jobId, int index, byte[] png, String infotext, long seed) throws Exception {
        String key = objectKey(jobId, index);
        client.putObject(PutObjectArgs.builder().bucket(bucket).object(key)
                .stream(new ByteArrayInputStream(png), png.length, -1)
                .contentType("image/png")
                .userMetadata(Map.of(
                        "parameters", URLEncoder.encode(infotext, StandardCharsets.UTF_8),
                        "seed", Long.toString(seed),
                        "job-id", jobId))
                .build());
        return key;
    }
}
