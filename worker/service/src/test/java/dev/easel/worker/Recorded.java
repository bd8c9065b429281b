package dev.easel.worker;

import dev.easel.contracts.FinishedJob;
import dev.easel.contracts.JobEvent;
import dev.easel.contracts.JobMessage;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/** The job runner's outside world for unit tests: what it published, dead-lettered and stored, with faults to turn on. */
final class Recorded implements JobEvents, JobResults {
    final List<JobEvent> events = Collections.synchronizedList(new ArrayList<>());
    final List<JobEvent> durable = Collections.synchronizedList(new ArrayList<>());
    final List<String> deadLetters = Collections.synchronizedList(new ArrayList<>());
    final List<String> stored = Collections.synchronizedList(new ArrayList<>());
    final List<FinishedJob> finished = Collections.synchronizedList(new ArrayList<>());
    /** Every store call fails as an unreachable object store would. */
    volatile boolean storageDown;
    /** Every store call is refused as a store answering 4xx would. */
    volatile boolean storageRefuses;
    /** What an earlier attempt left in the store. */
    volatile FinishedJob earlier;
    /** Runs on every published event (to cancel a job mid-way, or fail a send). */
    volatile Consumer<JobEvent> onPublish = event -> { };

    @Override
    public void publish(JobEvent event) {
        onPublish.accept(event);
        events.add(event);
    }

    @Override
    public void publishDurably(JobEvent event) {
        onPublish.accept(event);
        events.add(event);
        durable.add(event);
    }

    @Override
    public void deadLetter(ConsumerRecord<String, byte[]> job, String reason, int attempts) {
        deadLetters.add(reason);
    }

    @Override
    public String bucket() {
        return "test-bucket";
    }

    @Override
    public String put(JobMessage job, int index, byte[] png, String infotext, long seed)
            throws StorageUnavailableException {
        failIfDown();
        String key = ImageStore.objectKey(job, index);
        stored.add(key);
        return key;
    }

    @Override
    public void putFinished(FinishedJob record) throws StorageUnavailableException {
        failIfDown();
        finished.add(record);
    }

    @Override
    public Optional<FinishedJob> finished(JobMessage job) {
        return Optional.ofNullable(earlier);
    }

    private void failIfDown() throws StorageUnavailableException {
        if (storageRefuses) {
            throw new StorageUnavailableException("the object store refused to upload: 400 Bad Request", null, true);
        }
        if (storageDown) {
            throw new StorageUnavailableException("could not upload for 0 s: connection refused", null);
        }
    }

    /** The event types, progress left out. */
    List<String> lifecycle() {
        synchronized (events) {
            return events.stream().map(JobEvent::type).filter(type -> !type.equals("progress")).toList();
        }
    }

    JobEvent last() {
        synchronized (events) {
            return events.get(events.size() - 1);
        }
    }
}
