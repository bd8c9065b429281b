package dev.easel.gateway.jobs;

/** A completed job has no image of the index asked for: 404. */
public class ImageNotFoundException extends RuntimeException {
    public ImageNotFoundException(String detail) {
        super(detail);
    }
}
