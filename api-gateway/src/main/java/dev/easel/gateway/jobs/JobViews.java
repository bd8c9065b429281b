package dev.easel.gateway.jobs;

import dev.easel.contracts.FieldError;
import dev.easel.contracts.JobEvent;
import dev.easel.gateway.pool.ModelRouting;
import dev.easel.gateway.pool.WorkerRegistry;
import dev.easel.gateway.storage.FinishedJobs;
import dev.easel.gateway.storage.ImageLinks;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;

/** Jobs as clients see them: one job's view (status, queue position, progress, images, error) and the jobs list. */
@ApplicationScoped
public class JobViews {
    @Inject
    JobStore store;

    @Inject
    FinishedJobs finishedJobs;

    @Inject
    ImageLinks links;

    @Inject
    WorkerRegistry workers;

    @Inject
    ModelRouting routing;

    /** One page of a tenant's jobs, newest first; {@code nextCursor} is absent on the last page. */
    public record JobPage(List<JobView> jobs, String nextCursor) {
    }

    static final List<String> STATUSES = List.of("queued", "loading", "running", "completed", "failed", "cancelled");
    /** Jobs looked at per page at most, so a rare status cannot make one request read the whole bucket. */
    private static final int MAX_SCANNED = 500;

    /**
     * The tenant's jobs after {@code cursor}, newest first: those held in memory merged with those whose objects are in
     * the bucket (any age), filtered by {@code status}.
     */
    public JobPage list(String tenant, String status, String limit, String cursor) {
        List<FieldError> errors = new ArrayList<>();
        // Read here rather than by the framework, which answers a limit that is no number with a bare 404.
        int pageSize = limit == null ? 20 : wholeNumberOr(limit, 0);
        if (pageSize < 1 || pageSize > 100) {
            errors.add(new FieldError("limit", "is '" + limit + "'; must be a whole number from 1 to 100"));
        }
        if (status != null && !STATUSES.contains(status)) {
            errors.add(new FieldError("status", "is '" + status + "'; one of " + String.join(", ", STATUSES)));
        }
        if (cursor != null && !JobIds.isValid(cursor)) {
            errors.add(new FieldError("cursor", "is not a cursor from this list; pass the nextCursor of a page"));
        }
        if (!errors.isEmpty()) {
            throw new InvalidJobException(errors);
        }
        java.util.TreeSet<String> held = new java.util.TreeSet<>();
        for (String id : store.ids(tenant)) {
            if (cursor == null || id.compareTo(cursor) > 0) {
                held.add(id);
            }
        }
        java.util.Iterator<String> stored = finishedJobs.jobIds(tenant, cursor);
        List<JobView> page = new ArrayList<>();
        String last = null;
        String storedHead = stored.hasNext() ? stored.next() : null;
        int scanned = 0;
        while (page.size() < pageSize && scanned < MAX_SCANNED && (!held.isEmpty() || storedHead != null)) {
            String id;
            if (storedHead == null || !held.isEmpty() && held.first().compareTo(storedHead) <= 0) {
                id = held.pollFirst();
                if (id.equals(storedHead)) {
                    storedHead = stored.hasNext() ? stored.next() : null;
                }
            } else {
                id = storedHead;
                storedHead = stored.hasNext() ? stored.next() : null;
            }
            scanned++;
            last = id;
            try {
                JobState state = store.require(tenant, id);
                if (status == null || status.equals(state.status())) {
                    page.add(view(state));
                }
            } catch (JobNotFoundException e) {
                // images stored but no final record yet: the job is held by another replica's memory only
            }
        }
        boolean more = !held.isEmpty() || storedHead != null;
        return new JobPage(page, more ? last : null);
    }

    public JobView view(JobState state) {
        JobEvent.Queued queued = state.queued();
        JobEvent.Started started = state.started();
        JobEvent terminal = state.terminal();
        String status = state.status();
        List<JobView.Image> images = null;
        JobView.Error error = null;
        String cancelReason = null;
        if (terminal instanceof JobEvent.Completed completed) {
            images = new ArrayList<>();
            for (JobEvent.Image image : completed.images()) {
                images.add(new JobView.Image(image.index(), links.url(image.bucket(), image.objectKey()),
                        "/v1/jobs/" + state.id() + "/images/" + image.index(), image.objectKey(), image.width(),
                        image.height(), image.seed()));
            }
        } else if (terminal instanceof JobEvent.Failed failed) {
            error = new JobView.Error(failed.code(), failed.message(), failed.retryable(), failed.attempts());
        } else if (terminal instanceof JobEvent.Cancelled cancelled) {
            cancelReason = cancelled.reason();
        }
        JobEvent.Requeued requeued = state.requeued();
        String workerState = started == null || terminal != null || status.equals("queued") ? null
                : workers.isAlive(started.workerId()) ? "alive" : "gone";
        Integer position = routing.position(state);
        return new JobView(state.id(), status, queued == null ? null : queued.seed(), position,
                routing.startEtaMillis(state, position),
                terminal == null ? JobView.Progress.of(state.progress()) : null, state.currentAttempt(),
                requeued == null ? null : requeued.reason(),
                started == null ? null : started.workerId(), workerState,
                started == null ? null : started.executionProvider(),
                images, error, cancelReason, queued == null ? null : queued.atMillis(), state.updatedAtMillis(),
                JobView.Links.of(state.id()));
    }

    private static int wholeNumberOr(String text, int otherwise) {
        try {
            return Integer.parseInt(text.strip());
        } catch (NumberFormatException e) {
            return otherwise;
        }
    }
}
