package dev.easel.worker;

import dev.easel.contracts.FinishedJob;
import dev.easel.contracts.JobMessage;
import java.util.Optional;

/** Where a job's images and final record are kept ({@link ImageStore} on S3); keys depend only on the job. */
interface JobResults {
    /** The bucket the keys are in. */
    String bucket();

    /** Stores image {@code index} of the job and returns its key. */
    String put(JobMessage job, int index, byte[] png, String infotext, long seed)
            throws StorageUnavailableException, InterruptedException;

    /** Stores the job's final record. */
    void putFinished(FinishedJob finished) throws StorageUnavailableException, InterruptedException;

    /** The job's final record if an earlier attempt finished it; empty when there is none or the store cannot say. */
    Optional<FinishedJob> finished(JobMessage job);
}
