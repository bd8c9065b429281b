package dev.easel.store;

import dev.easel.contracts.Json;
import dev.easel.contracts.Topics;
import io.minio.BucketExistsArgs;
import io.minio.GetObjectArgs;
import io.minio.ListObjectsArgs;
import io.minio.MakeBucketArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.Result;
import io.minio.UploadObjectArgs;
import io.minio.errors.ErrorResponseException;
import io.minio.messages.Item;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * Model folders in an S3 bucket (MinIO or any S3 server): {@code <id>/<path>} for each file and
 * {@code <id>/manifest.json} written last, so the catalogue lists only models pushed whole. Pushing again replaces
 * the model (its files, then its manifest).
 */
public final class ModelStore {
    static final String MANIFEST = "manifest.json";
    public static final String DEFAULT_BUCKET = "easel-models";

    private final MinioClient client;
    private final String bucket;

    public ModelStore(String endpoint, String accessKey, String secretKey, String bucket) {
        this.client = MinioClient.builder().endpoint(endpoint).credentials(accessKey, secretKey).region("us-east-1")
                .build();
        this.bucket = bucket;
    }

    public String bucket() {
        return bucket;
    }

    /** Uploads {@code folder} as model {@code id} and returns its manifest. */
    public ModelManifest push(Path folder, String id) throws IOException {
        if (!Topics.isValidModelId(id)) {
            throw new IllegalArgumentException("model id '" + id + "' may hold only letters, digits, '.', '_' and '-'"
                    + " (at most 200): pass another with --id");
        }
        ModelManifest manifest = ModelManifest.of(folder, id);
        call(() -> {
            if (!client.bucketExists(BucketExistsArgs.builder().bucket(bucket).build())) {
                client.makeBucket(MakeBucketArgs.builder().bucket(bucket).build());
            }
            for (ModelManifest.File file : manifest.files()) {
                client.uploadObject(UploadObjectArgs.builder().bucket(bucket).object(id + "/" + file.path())
                        .filename(folder.resolve(file.path()).toRealPath().toString()).build());
            }
            byte[] json = Json.bytes(manifest);
            client.putObject(PutObjectArgs.builder().bucket(bucket).object(id + "/" + MANIFEST)
                    .stream(new java.io.ByteArrayInputStream(json), json.length, -1)
                    .contentType("application/json").build());
            return null;
        });
        return manifest;
    }

    /** The models pushed whole, by id. */
    public List<ModelManifest> catalogue() throws IOException {
        return call(() -> {
            List<ModelManifest> models = new ArrayList<>();
            if (!client.bucketExists(BucketExistsArgs.builder().bucket(bucket).build())) {
                return models;
            }
            for (Result<Item> result : client.listObjects(ListObjectsArgs.builder().bucket(bucket).build())) {
                Item item = result.get();
                if (item.isDir()) {
                    manifest(item.objectName().replaceAll("/$", "")).ifPresent(models::add);
                }
            }
            models.sort(java.util.Comparator.comparing(ModelManifest::id));
            return models;
        });
    }

    /** Model {@code id}'s manifest, or empty when the store has no complete model of that id. */
    public Optional<ModelManifest> manifest(String id) throws IOException {
        return call(() -> {
            try (InputStream in = client.getObject(GetObjectArgs.builder().bucket(bucket).object(id + "/" + MANIFEST)
                    .build())) {
                return Optional.of(Json.read(in.readAllBytes(), ModelManifest.class));
            } catch (ErrorResponseException e) {
                if (e.errorResponse().code().equals("NoSuchKey") || e.errorResponse().code().equals("NoSuchBucket")) {
                    return Optional.<ModelManifest>empty();
                }
                throw e;
            }
        });
    }

    /**
     * Writes {@code file} of model {@code id} to {@code target}, checking its size and SHA-256 against the manifest;
     * a mismatch fails naming the file (the store's copy is damaged or was replaced mid-download).
     */
    void download(String id, ModelManifest.File file, Path target) throws IOException {
        call(() -> {
            Files.createDirectories(target.getParent());
            MessageDigest digest = ModelManifest.digest();
            try (InputStream in = new DigestInputStream(client.getObject(GetObjectArgs.builder().bucket(bucket)
                    .object(id + "/" + file.path()).build()), digest);
                    OutputStream out = Files.newOutputStream(target)) {
                in.transferTo(out);
            }
            String sha = HexFormat.of().formatHex(digest.digest());
            if (!sha.equals(file.sha256()) || Files.size(target) != file.bytes()) {
                throw new IOException("model " + id + ": " + file.path() + " from the store has SHA-256 " + sha
                        + " and " + Files.size(target) + " bytes; its manifest says " + file.sha256() + " and "
                        + file.bytes() + ": push the model again");
            }
            return null;
        });
    }

    private interface Call<T> {
        T run() throws Exception;
    }

    private static <T> T call(Call<T> call) throws IOException {
        try {
            return call.run();
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException("the model store: " + e.getMessage(), e);
        }
    }
}
