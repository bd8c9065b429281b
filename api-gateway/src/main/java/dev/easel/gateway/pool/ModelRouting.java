package dev.easel.gateway.pool;

import dev.easel.contracts.FieldError;
import dev.easel.gateway.jobs.InvalidJobException;
import dev.easel.gateway.jobs.JobState;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.List;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Which model a job goes to, and what the pool can say about each model's queue: the default model, the devices that
 * serve it, the jobs waiting and how long a new one would wait (estimates from the broker's figures).
 */
@ApplicationScoped
public class ModelRouting {
    @Inject
    WorkerRegistry workers;

    @Inject
    QueueFigures queues;

    @ConfigProperty(name = "easel.default-model")
    Optional<String> configuredDefaultModel;

    /** The model of jobs that name none. */
    public Optional<String> defaultModel() {
        return workers.defaultModel(configuredDefaultModel.filter(m -> !m.isBlank()));
    }

    /** Accepted jobs of {@code modelId} that no worker took yet (an estimate from the broker's figures). */
    public long queuedJobs(String modelId) {
        return queues.queuedJobs(modelId, busyDevices(modelId));
    }

    /** How long until a job submitted now to {@code modelId} would start (an estimate; null before one ran). */
    public Long startEtaMillis(String modelId) {
        return queues.startEtaMillis(modelId, (int) Math.min(Integer.MAX_VALUE, queuedJobs(modelId) + 1),
                devices(modelId), busyDevices(modelId));
    }

    public int devices(String modelId) {
        return workers.serving(modelId).stream().mapToInt(WorkerRegistry.WorkerView::devices).sum();
    }

    /** The devices that hold {@code modelId} now: a job for it starts there without loading it. */
    public int warmDevices(String modelId) {
        return workers.serving(modelId).stream().mapToInt(w -> w.warmDevices().getOrDefault(modelId, 0)).sum();
    }

    /** The devices taking {@code modelId}'s queue: holding it, or placed to load it for its backlog. */
    public int placedDevices(String modelId) {
        return workers.serving(modelId).stream().mapToInt(w -> w.placedDevices().getOrDefault(modelId, 0)).sum();
    }

    /** The devices loading {@code modelId} now (its jobs there show {@code loading}). */
    public int loadingDevices(String modelId) {
        return workers.serving(modelId).stream().mapToInt(w -> w.loadingDevices().getOrDefault(modelId, 0)).sum();
    }

    public int busyDevices(String modelId) {
        return workers.serving(modelId).stream().mapToInt(WorkerRegistry.WorkerView::busyDevices).sum();
    }

    /** The model a job goes to: the one it names if a live worker serves it, else the default. */
    public String route(String requested) {
        List<String> served = workers.servedModels();
        if (served.isEmpty()) {
            throw new NoWorkersException("no live worker serves any model right now, so the job could not start;"
                    + " nothing was queued: start a worker (./easel worker add) or try again shortly");
        }
        String model = requested != null ? requested : defaultModel().orElseThrow(() -> new InvalidJobException(
                List.of(new FieldError("model", "is required here: the workers serve several models ("
                        + String.join(", ", served) + ") and no default is configured (easel.default-model)"))));
        if (!served.contains(model)) {
            throw new InvalidJobException(List.of(new FieldError("model", "'" + model + "' is not served by any live"
                    + " worker; served models: " + String.join(", ", served))));
        }
        return model;
    }

    /**
     * What {@code modelId} does: "generator", "upscaler" (the x4 diffusion upscaler: enlarges its init image 4 times
     * guided by the prompt) or "image-upscaler" (an ONNX network that enlarges its init image; no prompt).
     */
    public String kind(String modelId) {
        List<WorkerRegistry.WorkerView> serving = workers.serving(modelId);
        if (serving.stream().anyMatch(w -> w.imageUpscalers().containsKey(modelId))) {
            return "image-upscaler";
        }
        return serving.stream().anyMatch(w -> w.upscalers().contains(modelId)) ? "upscaler" : "generator";
    }

    /**
     * The schedulers a job for {@code modelId} may name, as its workers announce them (older workers announce none:
     * then every scheduler Easel has).
     */
    public List<String> schedulers(String modelId) {
        return workers.serving(modelId).stream().map(w -> w.schedulers().get(modelId))
                .filter(java.util.Objects::nonNull).findFirst().orElse(dev.easel.contracts.RequestLimits.SCHEDULERS);
    }

    /** 400 when the job names a scheduler its model does not take (an SD3 model takes only euler), naming those it does. */
    public void checkScheduler(String modelId, dev.easel.contracts.JobRequest request) {
        List<String> takes = schedulers(modelId);
        if (request.scheduler() != null && !takes.isEmpty() && !takes.contains(request.scheduler())) {
            throw new InvalidJobException(List.of(new FieldError("scheduler", "'" + request.scheduler() + "' does not"
                    + " apply to model " + modelId + "; it takes " + String.join(", ", takes))));
        }
    }

    /** How many times an upscaler model enlarges each side of its init image; 1 for a generator. */
    public int upscaleFactor(String modelId) {
        return switch (kind(modelId)) {
            case "image-upscaler" -> workers.serving(modelId).stream()
                    .map(w -> w.imageUpscalers().get(modelId)).filter(java.util.Objects::nonNull).findFirst()
                    .orElse(1);
            case "upscaler" -> X4_FACTOR;
            default -> 1;
        };
    }

    /** The x4 upscaler's factor (its VAE's); workers refuse an export whose factor differs, naming it. */
    private static final int X4_FACTOR = 4;

    /**
     * 400 unless the hires fix's upscaler is built in or an image upscaler that every live worker serving
     * {@code modelId} serves too (the second pass runs on the same device as the first).
     */
    public void checkHiresUpscaler(String modelId, dev.easel.contracts.JobRequest request) {
        if (request.hires() == null
                || dev.easel.contracts.JobRequest.Hires.UPSCALERS.contains(request.hires().upscalerOrDefault())) {
            return;
        }
        String upscaler = request.hires().upscaler();
        List<WorkerRegistry.WorkerView> serving = workers.serving(modelId);
        if (serving.isEmpty() || !serving.stream().allMatch(w -> w.imageUpscalers().containsKey(upscaler))) {
            java.util.TreeSet<String> everywhere = new java.util.TreeSet<>(serving.isEmpty() ? java.util.Set.of()
                    : serving.get(0).imageUpscalers().keySet());
            serving.forEach(w -> everywhere.retainAll(w.imageUpscalers().keySet()));
            List<String> known = new java.util.ArrayList<>(dev.easel.contracts.JobRequest.Hires.UPSCALERS);
            known.addAll(everywhere);
            throw new InvalidJobException(List.of(new FieldError("hires.upscaler", "'" + upscaler + "' is not an"
                    + " image upscaler served beside model " + modelId + " by every worker serving it; choose one of "
                    + String.join(", ", known))));
        }
    }

    /** The LoRAs the live workers serving {@code modelId} have, sorted. */
    public List<String> loras(String modelId) {
        java.util.TreeSet<String> names = new java.util.TreeSet<>();
        workers.serving(modelId).forEach(worker -> names.addAll(worker.loras()));
        return List.copyOf(names);
    }

    /** The embeddings' trigger words the live workers serving {@code modelId} have, sorted. */
    public List<String> embeddings(String modelId) {
        java.util.TreeSet<String> names = new java.util.TreeSet<>();
        workers.serving(modelId).forEach(worker -> names.addAll(worker.embeddings()));
        return List.copyOf(names);
    }

    /**
     * 400 unless every LoRA the request asks for (its loras field and its prompt's tags) is in the LoRA folder of a
     * worker serving {@code modelId}: an unknown name is refused at submit, naming the known ones, not failed later.
     */
    public void checkLoras(String modelId, dev.easel.contracts.JobRequest request) {
        List<String> known = loras(modelId);
        List<String> wanted = new java.util.ArrayList<>();
        dev.easel.contracts.PromptTags.parse(request.prompt()).loras().forEach(l -> wanted.add(l.name()));
        if (request.loras() != null) {
            request.loras().forEach(l -> wanted.add(l.name()));
        }
        for (String name : wanted) {
            if (!known.contains(name)) {
                throw new InvalidJobException(List.of(new FieldError("loras", "names an unknown LoRA '" + name
                        + "' for model " + modelId + "; known: " + (known.isEmpty()
                                ? "none (the workers' LoRA folders are empty)" : String.join(", ", known)))));
            }
        }
    }

    /** Where a queued job stands in its model's queue (1: next), or null when it is not queued. */
    public Integer position(JobState state) {
        return state.status().equals("queued") ? queues.position(state, busyDevices(state.model())) : null;
    }

    /** How long until {@code state}'s job starts, from its queue position (an estimate). */
    public Long startEtaMillis(JobState state, Integer position) {
        return queues.startEtaMillis(state.model(), position, devices(state.model()), busyDevices(state.model()));
    }
}
